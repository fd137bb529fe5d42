import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain
import VideogateStorage

@Suite("POST /v1/video")
struct SubmitTests {
    static let validBody = #"{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}"#

    @Test func acceptedSubmissionIsStoredAndHeld() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let response = try await client.submit(key: key, json: Self.validBody)
            #expect(response.status == .ok)
            let body = try response.json()
            #expect(body["success"] as? Bool == true)
            let id = try #require(body["request_id"] as? String)
            #expect(Identifier.isWellFormed(id, prefix: "req"))
            #expect(body["status"] as? String == "pending")
            #expect(body["model"] as? String == "kling-v2.5-turbo-pro")
            #expect(body["mode"] as? String == "text-to-video")
            #expect(body["aspect_ratio"] as? String == "9:16")
            #expect(body["duration"] as? Int == 5)
            #expect(body["credits_reserved"] as? Int == 1500)
            #expect((body["created_at"] as? String)?.hasSuffix("Z") == true)
            #expect(response.headers[.init("X-RateLimit-Limit")!] == "1000")
            #expect(response.headers[.init("X-RateLimit-Remaining")!] == "999")
            #expect(response.headers[.init("X-Request-Id")!] != nil)
            let job = try #require(try await gateway.store.job(id: id, accountID: account.id, environment: .test))
            #expect(job.status == .pending && job.provider == .sandbox)
            let balance = try await gateway.store.balances(accountID: account.id)[.test]
            #expect(balance == Balance(total: 10_000, held: 1500))
        }
    }

    @Test func unsupportedRatioFallsBackToModelDefault() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let body = try await client.submit(key: key, json: #"{"prompt":"x","model":"veo3.1","aspect_ratio":"1:1"}"#).json()
            #expect(body["aspect_ratio"] as? String == "16:9")
            #expect(body["duration"] as? Int == 8)
        }
    }

    @Test func authenticationFailuresAre401() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, keyID) = try await gateway.account()
        try await gateway.test { client in
            try await client.submit(key: nil, json: Self.validBody).expectError(401, "invalid_api_key")
            try await client.submit(key: "not-a-key", json: Self.validBody).expectError(401, "invalid_api_key")
            try await client.submit(key: "vg_test_" + String(repeating: "a", count: 40), json: Self.validBody).expectError(401, "invalid_api_key")
            var headers = HTTPFields()
            headers[.authorization] = "Basic \(key)"
            try await client.submit(key: nil, json: Self.validBody, headers: headers).expectError(401, "invalid_api_key")
            #expect(try await client.submit(key: key, json: Self.validBody).status == .ok)
            try await gateway.actions.revokeKey(id: keyID)
            try await client.submit(key: key, json: Self.validBody).expectError(401, "invalid_api_key")
            try await client.get("/v1/account", key: key).expectError(401, "invalid_api_key")
        }
    }

    /// Bodies with several faults answer with the first in api.md's order.
    @Test(arguments: [
        (#"{"model":"nope","mode":"bad","aspect_ratio":"2:1","duration":99}"#, "missing_prompt", "prompt"),
        (#"{"prompt":"   ","model":"nope"}"#, "missing_prompt", "prompt"),
        (#"{"prompt":"x","model":"nope","mode":"bad","aspect_ratio":"2:1"}"#, "invalid_model", "model"),
        (#"{"prompt":"x","model":"sora-2","mode":"bad","aspect_ratio":"2:1"}"#, "invalid_mode", "mode"),
        (#"{"prompt":"x","model":"sora-2","mode":"image-to-video"}"#, "invalid_mode", "mode"),
        (#"{"prompt":"x","model":"veo3.1-i2v","mode":"text-to-video"}"#, "invalid_mode", "mode"),
        (#"{"prompt":"x","model":"veo3.1-i2v","aspect_ratio":"2:1","duration":99}"#, "missing_image", "image"),
        (#"{"prompt":"x","model":"veo3.1-i2v","image":"http://example.com/a.png","aspect_ratio":"2:1"}"#, "invalid_image", "image"),
        (#"{"prompt":"x","model":"veo3.1-i2v","image":"bm90IGFuIGltYWdl","duration":99}"#, "invalid_image", "image"),
        (#"{"prompt":"x","model":"sora-2","aspect_ratio":"2:1","duration":99}"#, "invalid_aspect_ratio", "aspect_ratio"),
        (#"{"prompt":"x","model":"kling-v2.6-pro","duration":16}"#, "invalid_duration", "duration"),
        (#"{"prompt":"x","model":"sora-2","duration":5,"metadata":{"a":1}}"#, "invalid_duration", "duration"),
        (#"{"prompt":"x","model":"sora-2","metadata":{"a":1}}"#, "invalid_metadata", "metadata"),
        (#"{"prompt":"x","model":"sora-2","webhook_url":"http://example.com/hook"}"#, "invalid_webhook_url", "webhook_url"),
        (#"{"prompt":5,"model":"nope"}"#, "invalid_json", "prompt"),
        (#"{"prompt":"x","model":"sora-2","duration":"4"}"#, "invalid_json", "duration"),
    ])
    func checkOrder(body: String, code: String, param: String) async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account(credits: 0)
        try await gateway.test { client in
            try await client.submit(key: key, json: body).expectError(400, code, param: param)
        }
    }

    @Test func promptLengthIsCountedInCharacters() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let ok = String(repeating: "é", count: 4000)
            #expect(try await client.submit(key: key, json: #"{"prompt":"\#(ok)","model":"sora-2"}"#).status == .ok)
            let long = String(repeating: "a", count: 4001)
            try await client.submit(key: key, json: #"{"prompt":"\#(long)","model":"sora-2"}"#).expectError(400, "prompt_too_long", param: "prompt")
        }
    }

    @Test func bodyChecksComeBeforeFieldChecks() async throws {
        let gateway = try await TestGateway.make(maxBodyBytes: 2048)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            try await client.submit(key: key, json: Self.validBody, contentType: "text/plain").expectError(415, "unsupported_media_type")
            try await client.submit(key: key, json: Self.validBody, contentType: nil).expectError(415, "unsupported_media_type")
            let big = #"{"prompt":"\#(String(repeating: "a", count: 4000))"}"#
            try await client.submit(key: key, json: big).expectError(413, "payload_too_large")
            try await client.submit(key: key, json: "{not json").expectError(400, "invalid_json")
            try await client.submit(key: key, json: "[1,2]").expectError(400, "invalid_json")
            try await client.submit(key: key, json: "").expectError(400, "invalid_json")
            #expect(try await client.submit(key: key, json: Self.validBody, contentType: "application/json; charset=utf-8").status == .ok)
        }
    }

    @Test func liveModelsWithoutProviderCredentialsAre503WithoutHold() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account(credits: 10_000, environment: .live)
        try await gateway.test { client in
            try await client.submit(key: key, json: Self.validBody).expectError(503, "model_unavailable", param: "model")
            let models = try await client.get("/v1/models", key: key).json()["data"] as? [[String: Any]] ?? []
            #expect(models.count == 13)
            #expect(models.allSatisfy { $0["available"] as? Bool == false })
            #expect(try await gateway.store.balances(accountID: account.id)[.live] == Balance(total: 10_000, held: 0))
        }
    }

    @Test func insufficientCreditsIs402AndChangesNothing() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account(credits: 1000)
        try await gateway.test { client in
            try await client.submit(key: key, json: Self.validBody).expectError(402, "insufficient_credits")
            #expect(try await gateway.store.jobs(accountID: account.id, status: nil, limit: 10, before: nil).isEmpty)
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 1000, held: 0))
        }
    }

    @Test func fortyConcurrentSubmitsAgainstCreditForTenAcceptExactlyTen() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account(credits: 15_000)  // 10 x 1500
        try await gateway.test { client in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 { group.addTask { try await client.submit(key: key, json: Self.validBody).status.code } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 10)
            #expect(statuses.filter { $0 == 402 }.count == 30)
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 15_000, held: 15_000))
            #expect(try await gateway.store.jobs(accountID: account.id, status: nil, limit: 100, before: nil).count == 10)
        }
    }

    @Test func hundredAndFirstRequestOfAFreeKeyIs429WithHeaders() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account(plan: .free, credits: 1_000_000)
        try await gateway.test { client in
            // Refused submissions count too: every tenth is invalid.
            for index in 0..<100 {
                let body = index % 10 == 0 ? #"{"model":"sora-2"}"# : Self.validBody
                let response = try await client.submit(key: key, json: body)
                #expect(response.status.code == (index % 10 == 0 ? 400 : 200))
                #expect(response.headers[.init("X-RateLimit-Remaining")!] == String(99 - index))
            }
            let refused = try await client.submit(key: key, json: Self.validBody)
            try refused.expectError(429, "rate_limit_exceeded")
            #expect(refused.headers[.init("X-RateLimit-Limit")!] == "100")
            #expect(refused.headers[.init("X-RateLimit-Remaining")!] == "0")
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter > 86_000 && retryAfter <= 86_460)
            let reset = try #require(refused.headers[.init("X-RateLimit-Reset")!].flatMap(Int.init))
            #expect(abs(reset - Int(Date().timeIntervalSince1970) - retryAfter) <= 2)
            // The limit comes before the body: even a malformed body is 429 now.
            try await client.submit(key: key, json: "{bad", contentType: "text/plain").expectError(429, "rate_limit_exceeded")
            // Polls do not count and still work.
            let jobs = try await client.get("/v1/video?limit=1", key: key).json()["data"] as? [[String: Any]]
            #expect(jobs?.count == 1)
        }
    }

    @Test func idempotentReplayReturnsTheFirstResponseAndConflictIs409() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, keyID) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let headers: HTTPFields = [.init("Idempotency-Key")!: "order-42"]
            let first = try await client.submit(key: key, json: Self.validBody, headers: headers)
            let second = try await client.submit(key: key, json: Self.validBody, headers: headers)
            #expect(first.status == .ok && second.status == .ok)
            #expect(first.text == second.text)
            #expect(second.headers[.init("Idempotent-Replayed")!] == "true")
            #expect(try await gateway.store.jobs(accountID: account.id, status: nil, limit: 10, before: nil).count == 1)
            #expect(try await gateway.store.balances(accountID: account.id)[.test]?.held == 1500)
            let quota = try await gateway.store.quota(keyID: keyID, limit: 1000, at: Date())
            #expect(quota.used == 1)
            let other = #"{"prompt":"another","model":"kling-v2.5-turbo-pro"}"#
            try await client.submit(key: key, json: other, headers: headers).expectError(409, "idempotency_conflict")
            // Concurrent first uses of one key create one job.
            let racing: HTTPFields = [.init("Idempotency-Key")!: "race"]
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<8 { group.addTask { try await client.submit(key: key, json: other, headers: racing).json()["request_id"] as? String } }
                return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
            }
            #expect(ids.count == 1 && ids.first! != nil)
            let long: HTTPFields = [.init("Idempotency-Key")!: String(repeating: "k", count: 256)]
            try await client.submit(key: key, json: Self.validBody, headers: long).expectError(400, "invalid_idempotency_key")
        }
    }

    @Test func imageToVideoAcceptsBase64AndKeepsItForTheProvider() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account()
        try await gateway.test { client in
            let body = #"{"prompt":"x","model":"wan-2.5-i2v","image":"data:image/png;base64,\#(startPNGBase64)","metadata":{"order":"7"}}"#
            let response = try await client.submit(key: key, json: body).json()
            #expect(response["mode"] as? String == "image-to-video")
            #expect((response["metadata"] as? [String: String]) == ["order": "7"])
            let job = try #require(try await gateway.store.job(id: response["request_id"] as? String ?? "", accountID: account.id, environment: .test))
            let imageKey = try #require(job.imageKey)
            #expect(try await gateway.gateway.services.blobs.head(key: imageKey) != nil)
        }
    }
}
