import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain
import VideogateStorage

/// `spend_limit_daily` on keys: the admin routes that set it, the refusal on both submission
/// surfaces, and `GET /v1/account`.
@Suite("Spend limit per key")
struct SpendLimitTests {
    static let body = #"{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro"}"#

    @Test func aKeyCreatedWithALimitIsRefusedPastItOnBothSurfaces() async throws {
        let gateway = try await TestGateway.make()
        let (account, _, _) = try await gateway.account(credits: 100_000)
        try await gateway.test { client in
            let created = try await client.admin(
                .post, "/admin/accounts/\(account.id)/keys", json: #"{"environment":"test","spend_limit_daily":3000}"#)
            #expect(created.status == .ok)
            let body = try created.json()
            #expect(body["spend_limit_daily"] as? Int == 3000)
            let key = try #require(body["key"] as? String)
            #expect(try await client.submit(key: key, json: Self.body).status == .ok)
            #expect(try await client.createVideo(key: key, json: Self.body).status == .ok)
            let refused = try await client.submit(key: key, json: Self.body)
            try refused.expectError(402, "spend_limit_exceeded")
            #expect(refused.headers[.init("X-RateLimit-Remaining")!] == "997")
            try await client.createVideo(key: key, json: Self.body).expectOpenAIError(402, "spend_limit_exceeded", type: "insufficient_quota")
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 100_000, held: 3000))
            // A key created without the field has no limit, shown as null.
            let plain = try await client.admin(.post, "/admin/accounts/\(account.id)/keys", json: #"{"environment":"test"}"#)
            #expect(try plain.json().keys.contains("spend_limit_daily") && (try plain.json()["spend_limit_daily"]) is NSNull)
        }
    }

    @Test func patchSetsChangesAndRemovesTheLimit() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, keyID) = try await gateway.account(credits: 100_000)
        try await gateway.test { client in
            var patched = try await client.admin(.patch, "/admin/keys/\(keyID)", json: #"{"spend_limit_daily":1000}"#)
            #expect(patched.status == .ok)
            var view = try patched.json()
            #expect(view["success"] as? Bool == true && view["key_id"] as? String == keyID && view["account_id"] as? String == account.id)
            #expect(view["spend_limit_daily"] as? Int == 1000 && view["environment"] as? String == "test" && view["revoked"] as? Bool == false)
            try await client.submit(key: key, json: Self.body).expectError(402, "spend_limit_exceeded")
            patched = try await client.admin(.patch, "/admin/keys/\(keyID)", json: #"{"spend_limit_daily":1500}"#)
            #expect(try patched.json()["spend_limit_daily"] as? Int == 1500)
            #expect(try await client.submit(key: key, json: Self.body).status == .ok)
            try await client.submit(key: key, json: Self.body).expectError(402, "spend_limit_exceeded")
            patched = try await client.admin(.patch, "/admin/keys/\(keyID)", json: #"{"spend_limit_daily":null}"#)
            view = try patched.json()
            #expect(patched.status == .ok && view.keys.contains("spend_limit_daily") && view["spend_limit_daily"] is NSNull)
            #expect(try await client.submit(key: key, json: Self.body).status == .ok)
        }
    }

    @Test(arguments: [
        #"{}"#, #"{"spend_limit_daily":-1}"#, #"{"spend_limit_daily":1.5}"#, #"{"spend_limit_daily":"100"}"#,
        #"{"spend_limit_daily":true}"#, #"{"spend_limit_daily":1000000000001}"#, #"{"spend_limit_daily":[1]}"#,
    ])
    func badLimitsAre400AndChangeNothing(json: String) async throws {
        let gateway = try await TestGateway.make()
        let (account, _, keyID) = try await gateway.account(credits: 100_000)
        _ = try await gateway.actions.setSpendLimit(keyID: keyID, spendLimitDaily: 700)
        try await gateway.test { client in
            try await client.admin(.patch, "/admin/keys/\(keyID)", json: json).expectError(400, "invalid_parameter", param: "spend_limit_daily")
            try await client.admin(.post, "/admin/accounts/\(account.id)/keys", json: json == "{}" ? #"{"spend_limit_daily":-5}"# : json)
                .expectError(400, "invalid_parameter", param: "spend_limit_daily")
            #expect(try await gateway.store.keySpend(keyID: keyID, at: Date()).limit == 700)
        }
    }

    @Test func patchErrors() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, keyID) = try await gateway.account()
        try await gateway.test { client in
            try await client.admin(.patch, "/admin/keys/key_missing", json: #"{"spend_limit_daily":5}"#).expectError(404, "not_found")
            try await client.admin(.patch, "/admin/keys/\(keyID)", token: key, json: #"{"spend_limit_daily":5}"#).expectError(401, "unauthorized")
            try await client.admin(.patch, "/admin/keys/\(keyID)", json: "[]").expectError(400, "invalid_json")
            let text = try await client.execute(
                uri: "/admin/keys/\(keyID)", method: .patch, headers: [.authorization: "Bearer admin-test-token", .contentType: "text/plain"],
                body: ByteBuffer(string: #"{"spend_limit_daily":5}"#))
            try text.expectError(415, "unsupported_media_type")
            #expect(try await gateway.store.keySpend(keyID: keyID, at: Date()).limit == nil)
        }
    }

    @Test func theAccountShowsTheKeysLimitAndSpend() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, keyID) = try await gateway.account(credits: 100_000)
        try await gateway.test { client in
            var shown = try #require(try await client.get("/v1/account", key: key).json()["account"] as? [String: Any])
            var keyView = try #require(shown["key"] as? [String: Any])
            #expect(keyView["id"] as? String == keyID && keyView["spend_limit_daily"] is NSNull && keyView["spent_last_24h"] as? Int == 0)
            _ = try await gateway.actions.setSpendLimit(keyID: keyID, spendLimitDaily: 10_000)
            #expect(try await client.submit(key: key, json: Self.body).status == .ok)
            shown = try #require(try await client.get("/v1/account", key: key).json()["account"] as? [String: Any])
            keyView = try #require(shown["key"] as? [String: Any])
            #expect(keyView["spend_limit_daily"] as? Int == 10_000 && keyView["spent_last_24h"] as? Int == 1500)
        }
    }
}
