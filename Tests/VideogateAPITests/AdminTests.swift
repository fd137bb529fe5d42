import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain

@Suite("/admin")
struct AdminTests {
    @Test func wrongOrMissingAdminTokenIs401() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            try await client.admin(.get, "/admin/jobs", token: "wrong").expectError(401, "unauthorized")
            try await client.admin(.get, "/admin/jobs", token: key).expectError(401, "unauthorized")
            try await client.execute(uri: "/admin/jobs", method: .get).expectError(401, "unauthorized")
        }
    }

    @Test func accountKeyCreditsLedgerLifecycle() async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            let created = try await client.admin(.post, "/admin/accounts", json: #"{"name":"Acme","plan":"free"}"#).json()
            let account = try #require(created["account"] as? [String: Any])
            let id = try #require(account["id"] as? String)
            #expect(account["daily_limit"] as? Int == 100)
            #expect((account["webhook_secret"] as? String)?.hasPrefix("whsec_") == true)

            let keyBody = try await client.admin(.post, "/admin/accounts/\(id)/keys", json: #"{"environment":"test"}"#).json()
            let secret = try #require(keyBody["key"] as? String)
            #expect(secret.hasPrefix("vg_test_") && secret.count >= 40)
            let keyID = try #require(keyBody["key_id"] as? String)

            let credits = try await client.admin(.post, "/admin/accounts/\(id)/credits", json: #"{"amount":5000,"environment":"test","reason":"trial"}"#).json()
            #expect(((credits["balances"] as? [String: Any])?["test"] as? [String: Any])?["available"] as? Int == 5000)

            let job = try await client.submit(key: secret, json: #"{"prompt":"p","model":"kling-v2.5-turbo-pro"}"#).json()
            let jobID = try #require(job["request_id"] as? String)
            // Removing credits never goes below what is held.
            try await client.admin(.post, "/admin/accounts/\(id)/credits", json: #"{"amount":-4000,"environment":"test"}"#)
                .expectError(400, "invalid_parameter", param: "amount")
            #expect(try await client.admin(.post, "/admin/accounts/\(id)/credits", json: #"{"amount":-3500,"environment":"test"}"#).status == .ok)

            let ledger = try await client.admin(.get, "/admin/accounts/\(id)/ledger").json()["data"] as? [[String: Any]] ?? []
            #expect(ledger.map { $0["kind"] as? String } == ["grant", "hold", "grant"])
            #expect(ledger[1]["job_id"] as? String == jobID)
            #expect(ledger[0]["amount"] as? Int == -3500)

            let fetched = try await client.admin(.get, "/admin/accounts/\(id)").json()["account"] as? [String: Any]
            let test = (fetched?["balances"] as? [String: Any])?["test"] as? [String: Any]
            #expect(test?["available"] as? Int == 0 && test?["held"] as? Int == 1500)

            let jobs = try await client.admin(.get, "/admin/jobs?account=\(id)&status=pending").json()["data"] as? [[String: Any]] ?? []
            #expect(jobs.count == 1 && jobs[0]["id"] as? String == jobID && jobs[0]["provider"] as? String == "sandbox")

            let patched = try await client.admin(.patch, "/admin/accounts/\(id)", json: #"{"plan":"enterprise","daily_limit":5000}"#).json()
            #expect((patched["account"] as? [String: Any])?["daily_limit"] as? Int == 5000)
            try await client.admin(.patch, "/admin/accounts/\(id)", json: #"{"plan":"pro","daily_limit":5}"#)
                .expectError(400, "invalid_parameter", param: "daily_limit")

            let oldSecret = fetched?["webhook_secret"] as? String
            let rotated = try await client.admin(.post, "/admin/accounts/\(id)/webhook-secret").json()["account"] as? [String: Any]
            #expect(rotated?["webhook_secret"] as? String != oldSecret)

            #expect(try await client.admin(.delete, "/admin/keys/\(keyID)").status == .ok)
            try await client.submit(key: secret, json: #"{"prompt":"p","model":"sora-2"}"#).expectError(401, "invalid_api_key")
            try await client.admin(.delete, "/admin/keys/key_01JD0000000000000000000000").expectError(404, "not_found")
        }
    }

    @Test func invalidAdminInputIs400AndChangesNothing() async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            try await client.admin(.post, "/admin/accounts", json: #"{"plan":"free"}"#).expectError(400, "invalid_parameter", param: "name")
            try await client.admin(.post, "/admin/accounts", json: #"{"name":"x","plan":"gold"}"#).expectError(400, "invalid_parameter", param: "plan")
            try await client.admin(.post, "/admin/accounts", json: #"{"name":"x","plan":"free","daily_limit":7}"#)
                .expectError(400, "invalid_parameter", param: "daily_limit")
            try await client.admin(.post, "/admin/accounts", json: #"{"name":5}"#).expectError(400, "invalid_parameter", param: "name")
            try await client.admin(.post, "/admin/accounts", json: "nope").expectError(400, "invalid_json")
            // The document's maxLength counts code points as sent: a leading NEL (whitespace, trimmed later)
            // and a control character before 199 stars are 201; so are 199 stars, an é and a combining
            // accent (200 characters to Swift).
            let stars = String(repeating: "*", count: 199)
            try await client.admin(.post, "/admin/accounts", json: #"{"name":"\u0085\u001a\#(stars)"}"#)
                .expectError(400, "invalid_parameter", param: "name")
            try await client.admin(.post, "/admin/accounts", json: #"{"name":"\#(stars)\u00e9\u0301"}"#)
                .expectError(400, "invalid_parameter", param: "name")
            try await client.admin(.get, "/admin/accounts/acct_missing").expectError(404, "not_found")
            try await client.admin(.post, "/admin/accounts/acct_missing/keys", json: "{}").expectError(404, "not_found")
            try await client.admin(.post, "/admin/accounts/acct_missing/credits", json: #"{"amount":5}"#).expectError(404, "not_found")
            try await client.admin(.post, "/admin/accounts/acct_missing/credits", json: #"{"amount":0}"#).expectError(400, "invalid_parameter")
            #expect(try await gateway.store.hasAccounts() == true)  // only the demo account
            let exact = try await client.admin(.post, "/admin/accounts", json: #"{"name":" \#(stars)"}"#)
            #expect(exact.status == .ok, "200 code points with a leading space: \(exact.text)")
            let jobs = try await client.admin(.get, "/admin/jobs").json()["data"] as? [Any]
            #expect(jobs?.isEmpty == true)
        }
    }
}
