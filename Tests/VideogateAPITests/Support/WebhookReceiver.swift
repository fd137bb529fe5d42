import Foundation
import Hummingbird
import Logging
import NIOCore
import ProviderFakes
import Synchronization
import Testing

/// A webhook receiver on 127.0.0.1 (a free port): records every POST to `/hook` and answers with
/// the scripted statuses in order, then 200.
final class WebhookReceiver: Sendable {
    /// One request as received.
    struct Received: Sendable {
        /// Header names lowercased.
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    }

    private struct State {
        var received: [Received] = []
        var statuses: [Int] = []
        var port = 0
    }

    private let state = Mutex(State())

    /// Answers the next requests with these statuses, in order.
    func script(_ statuses: [Int]) { state.withLock { $0.statuses += statuses } }
    var received: [Received] { state.withLock { $0.received } }
    var port: Int { state.withLock { $0.port } }
    /// The URL to give as `webhook_url`.
    var url: String { "http://127.0.0.1:\(port)/hook" }

    /// Waits until `count` requests arrived (or `timeout` passed) and returns what arrived.
    func wait(for count: Int, timeout: Duration = .seconds(30)) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while received.count < count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let received = received
        #expect(received.count >= count, "\(received.count) webhook requests arrived, expected \(count)")
        return received
    }

    /// Starts the receiver, runs `body`, and stops it.
    func run<T: Sendable>(_ body: @Sendable (WebhookReceiver) async throws -> T) async throws -> T {
        try await LocalServer.run(name: "webhook-receiver", { router in
            router.post("/hook") { [self] request, context -> Response in
                var request = request
                let buffer = try await request.collectBody(upTo: 16 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
                let status = state.withLock { state in
                    state.received.append(Received(headers: headers, body: Data(buffer: buffer)))
                    return state.statuses.isEmpty ? 200 : state.statuses.removeFirst()
                }
                return Response(status: HTTPResponse.Status(code: status))
            }
        }) { port in
            state.withLock { $0.port = port }
            return try await body(self)
        }
    }
}
