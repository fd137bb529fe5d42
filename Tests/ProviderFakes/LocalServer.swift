import Hummingbird
import Logging

/// A Hummingbird server on 127.0.0.1 for tests: fakes, receivers, redirecting hosts.
public enum LocalServer {
    /// Starts a server with `routes` on a free port of 127.0.0.1, runs `body` with that port, and
    /// stops the server when `body` returns or throws.
    public static func run<T: Sendable>(
        name: String = "local-test-server", _ routes: (Router<BasicRequestContext>) -> Void, _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let router = Router()
        routes(router)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: name)
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: name),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                // Ends the port stream too, so a server that fails to start does not leave the caller waiting.
                defer { continuation.finish() }
                try await app.runService(gracefulShutdownSignals: [])
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            guard port != 0 else {
                group.cancelAll()
                throw NoPort()
            }
            defer { group.cancelAll() }
            return try await body(port)
        }
    }

    struct NoPort: Error {}
}
