import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL change feed: `LISTEN videogate_jobs` on one connection of its own, fed by the
/// trigger of migration 11, which `pg_notify`s a job's id on commit of every transaction that
/// created the job or changed its status, progress or lease, whichever process wrote it.
///
/// After the connection drops, it connects again (every half second until it succeeds) and then
/// reports `.all`: notifications sent while it was down are lost.
public struct PostgresJobChangeFeed: JobChangeFeed {
    /// The channel the trigger notifies.
    static let channel = "videogate_jobs"
    let configuration: PostgresClient.Configuration
    let logger: Logger

    public var fallbackInterval: Duration? { nil }

    public func run(_ deliver: @escaping @Sendable (JobChange) -> Void) async {
        var configuration = self.configuration
        configuration.options.maximumConnections = 1
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        // Started on this thread, as the store's pool is: `run()` marks the client running before its
        // first suspension, so the first lease below finds it running.
        let runner: Task<Void, Never>
        if #available(macOS 26.0, *) {
            runner = Task.immediate { await client.run() }
        } else {
            runner = Task { await client.run() }
        }
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        deliver(.all)
                        for try await notification in notifications { deliver(.job(notification.payload)) }
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.warning("job change feed lost its connection", metadata: ["error": .string(String(reflecting: error))])
                }
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
        runner.cancel()
        await runner.value
    }
}

extension PostgresStore {
    /// A feed on a connection of its own (not one of the pool's).
    public func jobChangeFeed() -> any JobChangeFeed {
        PostgresJobChangeFeed(configuration: configuration, logger: logger)
    }
}
