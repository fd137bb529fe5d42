import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain

@Suite("GET /v1/video, /v1/video/{id}, /v1/account")
struct PollAndListTests {
    static let body = #"{"prompt":"p","model":"kling-v2.5-turbo-pro"}"#

    @Test func anotherAccountsJobIs404LikeAMissingOne() async throws {
        let gateway = try await TestGateway.make()
        let (_, alice, _) = try await gateway.account()
        let (_, bob, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: alice, json: Self.body).json()["request_id"] as? String)
            #expect(try await client.get("/v1/video/\(id)", key: alice).status == .ok)
            try await client.get("/v1/video/\(id)", key: bob).expectError(404, "not_found")
            try await client.get("/v1/video/req_01JD0000000000000000000000", key: bob).expectError(404, "not_found")
            try await client.get("/v1/video/garbage", key: bob).expectError(404, "not_found")
            try await client.get("/v1/video/\(id)/content", key: bob).expectError(404, "not_found")
            let list = try await client.get("/v1/video", key: bob).json()
            #expect((list["data"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func pollingTooOftenIs429WithRetryAfter() async throws {
        let gateway = try await TestGateway.make(pollInterval: 5)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: Self.body).json()["request_id"] as? String)
            for _ in 0..<3 { #expect(try await client.get("/v1/video/\(id)", key: key).status == .ok) }
            let refused = try await client.get("/v1/video/\(id)", key: key)
            try refused.expectError(429, "polling_too_frequent")
            #expect(refused.headers[.retryAfter].flatMap(Int.init).map { $0 >= 1 && $0 <= 5 } == true)
            #expect(refused.headers[.init("X-RateLimit-Limit")!] == "1000")
            // Polls do not count against the daily limit.
            #expect(try await client.get("/v1/account", key: key).json()["account"].flatMap { ($0 as? [String: Any])?["used"] as? Int } == 1)
        }
    }

    @Test func listPagesNewestFirstWithCursor() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            var created: [String] = []
            for _ in 0..<5 {
                created.append(try #require(try await client.submit(key: key, json: Self.body).json()["request_id"] as? String))
                try await Task.sleep(for: .milliseconds(3))
            }
            let first = try await client.get("/v1/video?limit=2", key: key).json()
            let firstIDs = (first["data"] as? [[String: Any]])?.compactMap { $0["request_id"] as? String }
            #expect(firstIDs == [created[4], created[3]])
            #expect(first["has_more"] as? Bool == true)
            let cursor = try #require(first["next_cursor"] as? String)
            let second = try await client.get("/v1/video?limit=10&after=\(cursor)", key: key).json()
            let secondIDs = (second["data"] as? [[String: Any]])?.compactMap { $0["request_id"] as? String }
            #expect(secondIDs == [created[2], created[1], created[0]])
            #expect(second["has_more"] as? Bool == false)
            #expect(second["next_cursor"] is NSNull, "the last page has next_cursor: null, not a missing field")
            let pending = try await client.get("/v1/video?status=pending", key: key).json()
            #expect((pending["data"] as? [Any])?.count == 5)
            try await client.get("/v1/video?status=done", key: key).expectError(400, "invalid_parameter", param: "status")
            try await client.get("/v1/video?limit=0", key: key).expectError(400, "invalid_parameter", param: "limit")
            try await client.get("/v1/video?after=xyz", key: key).expectError(400, "invalid_parameter", param: "after")
        }
    }

    @Test func accountShowsPlanBalancesAndUse() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, keyID) = try await gateway.account(plan: .free, credits: 5000)
        try await gateway.test { client in
            _ = try await client.submit(key: key, json: Self.body)
            let object = try #require(try await client.get("/v1/account", key: key).json()["account"] as? [String: Any])
            #expect(object["id"] as? String == account.id)
            #expect(object["plan"] as? String == "free")
            #expect(object["daily_limit"] as? Int == 100)
            #expect(object["used"] as? Int == 1)
            #expect((object["key"] as? [String: Any])?["id"] as? String == keyID)
            let test = (object["balances"] as? [String: Any])?["test"] as? [String: Any]
            #expect(test?["available"] as? Int == 3500)
            #expect(test?["held"] as? Int == 1500)
        }
    }

    @Test func contentBeforeCompletionIs404() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: Self.body).json()["request_id"] as? String)
            try await client.get("/v1/video/\(id)/content", key: key).expectError(404, "not_found")
        }
    }
}
