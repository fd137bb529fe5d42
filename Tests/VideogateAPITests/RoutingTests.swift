import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp

@Suite("Routing, errors and operations routes")
struct RoutingTests {
    @Test func unknownRoutesAre404InOurFormat() async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            let response = try await client.get("/nope", key: nil)
            try response.expectError(404, "not_found")
            #expect(response.headers[.init("X-Request-Id")!]?.hasPrefix("http_") == true)
            try await client.get("/v1/video/req_x/extra/deep", key: nil).expectError(404, "not_found")
        }
    }

    @Test(arguments: [
        (HTTPRequest.Method.delete, "/v1/video", "GET, HEAD, POST"),
        (.put, "/v1/video/req_01JD0000000000000000000000", "GET, HEAD"),
        (.post, "/v1/models", "GET, HEAD"),
        (.trace, "/v1/video", "GET, HEAD, POST"),
        (.options, "/healthz", "GET, HEAD"),
        (.get, "/admin/keys/key_01JD0000000000000000000000", "DELETE, PATCH"),
        (.get, "/v1/video/quote", "POST"),
    ])
    func wrongMethodsAre405WithAllow(method: HTTPRequest.Method, path: String, allow: String) async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            let response = try await client.execute(uri: path, method: method)
            try response.expectError(405, "method_not_allowed")
            #expect(response.headers[.allow] == allow)
        }
    }

    @Test func healthReadinessMetricsAndOpenAPINeedNoAuth() async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            let health = try await client.get("/healthz", key: nil)
            #expect(health.status == .ok)
            #expect(health.headers[.contentType] == "application/json; charset=utf-8")
            #expect(health.text == #"{"status":"ok","success":true}"#)
            #expect(try await client.get("/readyz", key: nil).status == .ok)
            _ = try await client.get("/nope", key: nil)
            let metrics = try await client.get("/metrics", key: nil)
            #expect(metrics.status == .ok)
            #expect(metrics.text.contains("videogate_http_requests_total"))
            #expect(metrics.text.contains(#"status="404""#))
            // The counter handles are kept per route, method and status: a second request counts on the same series.
            _ = try await client.get("/healthz", key: nil)
            let again = try await client.get("/metrics", key: nil)
            #expect(again.text.contains(#"videogate_http_requests_total{method="GET",route="/healthz",status="200"} 2"#)
                || again.text.contains(#"videogate_http_requests_total{route="/healthz",method="GET",status="200"} 2"#))
            #expect(metrics.text.contains("videogate_jobs"))
            #expect(metrics.text.contains("videogate_queue_depth"))
            #expect(metrics.text.contains("videogate_ledger_held_credits"))
            let document = try await client.get("/openapi.json", key: nil).json()
            #expect(document["openapi"] as? String == "3.1.0")
            let head = try await client.execute(uri: "/healthz", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
        }
    }

    @Test func readinessFollowsResultStorage() async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            let videos = gateway.directory.appendingPathComponent("videos")
            let moved = gateway.directory.appendingPathComponent("videos-away")
            try FileManager.default.moveItem(at: videos, to: moved)
            try await client.get("/readyz", key: nil).expectError(503, "not_ready")
            try FileManager.default.moveItem(at: moved, to: videos)
            #expect(try await client.get("/readyz", key: nil).status == .ok)
        }
    }
}
