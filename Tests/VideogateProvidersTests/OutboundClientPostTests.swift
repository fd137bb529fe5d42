import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import ProviderFakes
import Testing
import VideogateDomain
import VideogateProviders

/// Webhook POSTs through the outbound client, against local servers on 127.0.0.1 only.
@Suite("OutboundClient POST")
struct OutboundClientPostTests {
    /// What one local server received, in order.
    final class Log: Sendable {
        struct Entry: Sendable {
            var method: String
            var path: String
            var headers: [String: String]
            var body: Data
        }
        private let entries = Mutex<[Entry]>([])
        func record(_ request: Request, body: ByteBuffer) {
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            entries.withLock { $0.append(Entry(method: request.method.rawValue, path: request.uri.path, headers: headers, body: Data(buffer: body))) }
        }
        var all: [Entry] { entries.withLock { $0 } }
    }

    /// Runs a server on 127.0.0.1 (a free port) with `routes` around `body`.
    func withServer<T: Sendable>(
        _ routes: @Sendable (Router<BasicRequestContext>) -> Void, _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        try await LocalServer.run(name: "post-tests", routes, body)
    }

    func postFailure(_ client: OutboundClient, _ url: String) async -> OutboundClient.Failure? {
        do {
            _ = try await client.post(url, headers: [], body: Data("{}".utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func sendsTheBodyAndHeadersAndReturnsTheStatus() async throws {
        let log = Log()
        let status = try await withServer({ router in
            router.post("/hook") { request, _ -> Response in
                var request = request
                log.record(request, body: try await request.collectBody(upTo: 1 << 20))
                return Response(status: .accepted)
            }
        }) { port in
            let client = try OutboundClient(policy: OutboundPolicy(allowedHosts: ["127.0.0.1"]), timeout: 5)
            return try await client.post(
                "http://127.0.0.1:\(port)/hook?x=1", headers: [("webhook-id", "msg_1"), ("Content-Type", "application/json")],
                body: Data(#"{"a":1}"#.utf8))
        }
        #expect(status == 202)
        let entry = try #require(log.all.first)
        #expect(log.all.count == 1 && entry.method == "POST" && entry.path == "/hook")
        #expect(entry.body == Data(#"{"a":1}"#.utf8))
        #expect(entry.headers["webhook-id"] == "msg_1" && entry.headers["content-type"] == "application/json")
        #expect(entry.headers["user-agent"] == "videogate" && entry.headers["content-length"] == "7")
    }

    @Test func redirectsAreNotFollowed() async throws {
        let log = Log()
        let status = try await withServer({ router in
            router.post("/hook") { request, _ -> Response in
                log.record(request, body: ByteBuffer())
                return Response(status: .temporaryRedirect, headers: [.location: "/elsewhere"])
            }
            router.post("/elsewhere") { request, _ -> Response in
                log.record(request, body: ByteBuffer())
                return Response(status: .ok)
            }
        }) { port in
            let client = try OutboundClient(policy: OutboundPolicy(allowedHosts: ["127.0.0.1"]), timeout: 5)
            return try await client.post("http://127.0.0.1:\(port)/hook", headers: [], body: Data("{}".utf8))
        }
        #expect(status == 307)
        #expect(log.all.map(\.path) == ["/hook"])
    }

    @Test(arguments: [
        ("https://10.0.0.1/hook", "private"), ("https://127.0.0.1/hook", "loopback"), ("https://169.254.169.254/hook", "link-local"),
        ("https://[fe80::1]/hook", "link-local"), ("http://example.com/hook", "https"),
    ])
    func forbiddenTargetsAreRefusedWithoutConnecting(url: String, reason: String) async throws {
        let failure = await postFailure(try OutboundClient(policy: OutboundPolicy(), timeout: 5), url)
        guard case .refused(let text) = failure else {
            Issue.record("expected .refused, got \(String(describing: failure))")
            return
        }
        #expect(text.contains(reason), "\(text)")
    }

    @Test func aSlowReceiverRunsIntoTheTimeBound() async throws {
        let failure = try await withServer({ router in
            router.post("/hook") { _, _ -> Response in
                try await Task.sleep(for: .seconds(5))
                return Response(status: .ok)
            }
        }) { port in
            // The receiver answers after 5 s: without the bound the POST would succeed.
            let client = try OutboundClient(policy: OutboundPolicy(allowedHosts: ["127.0.0.1"]), timeout: 0.3)
            return await postFailure(client, "http://127.0.0.1:\(port)/hook")
        }
        guard case .network(let text) = failure else {
            Issue.record("expected .network, got \(String(describing: failure))")
            return
        }
        #expect(text.contains("no answer within"))
    }

    @Test func aClosedPortIsANetworkFailure() async throws {
        let client = try OutboundClient(policy: OutboundPolicy(allowedHosts: ["127.0.0.1"]), timeout: 5)
        let failure = await postFailure(client, "http://127.0.0.1:1/hook")
        guard case .network = failure else {
            Issue.record("expected .network, got \(String(describing: failure))")
            return
        }
    }
}
