import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain
import VideogateStorage

@Suite("POST /v1/video/quote")
struct QuoteTests {
    static let body = #"{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}"#

    /// Nothing a quote could have changed: jobs, balance, the key's daily count, stored files.
    struct Footprint: Equatable {
        let jobs: Int
        let balance: Balance?
        let used: Int
        let files: [String]

        static func of(_ gateway: TestGateway, account: Account, keyID: String) async throws -> Footprint {
            let files = FileManager.default.enumerator(atPath: gateway.directory.path)?.compactMap { $0 as? String }
                .filter { $0.contains("inputs/") || $0.hasSuffix(".png") } ?? []
            return Footprint(
                jobs: try await gateway.store.jobs(accountID: account.id, status: nil, limit: 100, before: nil).count,
                balance: try await gateway.store.balances(accountID: account.id)[.test],
                used: try await gateway.store.quota(keyID: keyID, limit: account.dailyLimit, at: Date()).used, files: files.sorted())
        }
    }

    @Test func aQuoteNamesWhatASubmissionWouldHoldAndChangesNothing() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, keyID) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let before = try await Footprint.of(gateway, account: account, keyID: keyID)
            let response = try await client.quote(key: key, json: Self.body)
            #expect(response.status == .ok)
            let quote = try response.json()
            #expect(quote["success"] as? Bool == true)
            #expect(quote["model"] as? String == "kling-v2.5-turbo-pro" && quote["mode"] as? String == "text-to-video")
            #expect(quote["aspect_ratio"] as? String == "9:16" && quote["duration"] as? Int == 5)
            #expect(quote["credits"] as? Int == 1500 && quote["available_credits"] as? Int == 10_000)
            #expect(quote["affordable"] as? Bool == true)
            #expect(quote.keys.contains("spend_limit_remaining") && quote["spend_limit_remaining"] is NSNull)
            // Rate-limit figures like every /v1 route, and the quote is not counted.
            #expect(response.headers[.init("X-RateLimit-Limit")!] == "1000")
            #expect(response.headers[.init("X-RateLimit-Remaining")!] == "1000")
            #expect(try await Footprint.of(gateway, account: account, keyID: keyID) == before)
            // The submission of the same body holds exactly the quoted credits.
            let job = try await client.submit(key: key, json: Self.body).json()
            #expect(job["credits_reserved"] as? Int == 1500 && job["aspect_ratio"] as? String == "9:16" && job["duration"] as? Int == 5)
        }
    }

    @Test func aStartImageGivenAsBytesIsCheckedAndNotStored() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, keyID) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let before = try await Footprint.of(gateway, account: account, keyID: keyID)
            let body = #"{"prompt":"p","model":"wan-2.5-i2v","image":"data:image/png;base64,\#(startPNGBase64)"}"#
            let quote = try await client.quote(key: key, json: body).json()
            #expect(quote["mode"] as? String == "image-to-video" && quote["credits"] as? Int == 1500)
            try await client.quote(key: key, json: #"{"prompt":"p","model":"wan-2.5-i2v","image":"\#(tinyPNGBase64)"}"#)
                .expectError(400, "invalid_image", param: "image")
            #expect(try await Footprint.of(gateway, account: account, keyID: keyID) == before)
        }
    }

    @Test func notEnoughCreditsIsUnaffordableNot402() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account(credits: 1499)
        try await gateway.test { client in
            let response = try await client.quote(key: key, json: Self.body)
            #expect(response.status == .ok)
            let quote = try response.json()
            #expect(quote["credits"] as? Int == 1500 && quote["available_credits"] as? Int == 1499 && quote["affordable"] as? Bool == false)
            try await client.submit(key: key, json: Self.body).expectError(402, "insufficient_credits")
        }
    }

    @Test func theKeysSpendLimitIsPartOfAffordable() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, keyID) = try await gateway.account(credits: 100_000)
        _ = try await gateway.actions.setSpendLimit(keyID: keyID, spendLimitDaily: 2000)
        try await gateway.test { client in
            var quote = try await client.quote(key: key, json: Self.body).json()
            #expect(quote["affordable"] as? Bool == true && quote["spend_limit_remaining"] as? Int == 2000)
            #expect(try await client.submit(key: key, json: Self.body).status == .ok)
            quote = try await client.quote(key: key, json: Self.body).json()
            #expect(quote["affordable"] as? Bool == false && quote["spend_limit_remaining"] as? Int == 500)
            #expect(quote["available_credits"] as? Int == 98_500)
            try await client.submit(key: key, json: Self.body).expectError(402, "spend_limit_exceeded")
        }
    }

    /// The daily limit is neither checked nor counted: a key that used all its requests still gets quotes.
    @Test func theDailyLimitNeitherRefusesNorCountsAQuote() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account(plan: .enterprise, credits: 100_000, dailyLimit: 1)
        try await gateway.test { client in
            #expect(try await client.submit(key: key, json: Self.body).status == .ok)
            try await client.submit(key: key, json: Self.body).expectError(429, "rate_limit_exceeded")
            let response = try await client.quote(key: key, json: Self.body)
            #expect(response.status == .ok && response.headers[.init("X-RateLimit-Remaining")!] == "0")
        }
    }

    /// Each check of submit, in submit's order: a body with several faults answers with the first.
    @Test(arguments: [
        (#"{"model":"nope","mode":"bad","aspect_ratio":"2:1","duration":99}"#, "missing_prompt", "prompt"),
        (#"{"prompt":"x","model":"nope","mode":"bad","aspect_ratio":"2:1"}"#, "invalid_model", "model"),
        (#"{"prompt":"x","model":"sora-2","mode":"bad","aspect_ratio":"2:1"}"#, "invalid_mode", "mode"),
        (#"{"prompt":"x","model":"veo3.1-i2v","aspect_ratio":"2:1","duration":99}"#, "missing_image", "image"),
        (#"{"prompt":"x","model":"veo3.1-i2v","image":"bm90IGFuIGltYWdl","duration":99}"#, "invalid_image", "image"),
        (#"{"prompt":"x","model":"sora-2","aspect_ratio":"2:1","duration":99}"#, "invalid_aspect_ratio", "aspect_ratio"),
        (#"{"prompt":"x","model":"kling-v2.6-pro","duration":16}"#, "invalid_duration", "duration"),
        (#"{"prompt":7,"model":"sora-2"}"#, "invalid_json", "prompt"),
    ])
    func fieldErrorsComeInSubmitsOrder(body: String, code: String, param: String) async throws {
        let gateway = try await TestGateway.make()
        let (account, key, keyID) = try await gateway.account(credits: 100_000)
        try await gateway.test { client in
            let before = try await Footprint.of(gateway, account: account, keyID: keyID)
            let quote = try await client.quote(key: key, json: body)
            try quote.expectError(400, code, param: param)
            #expect(quote.headers[.init("X-RateLimit-Remaining")!] == "1000")
            // The same answer as a submission of that body.
            let submitted = try await client.submit(key: key, json: body)
            let submittedCode = try submitted.json()["error"] as? String
            #expect(submitted.status == quote.status && submittedCode == code)
            #expect(try await Footprint.of(gateway, account: account, keyID: keyID).jobs == before.jobs)
        }
    }

    @Test func keyAndBodyErrorsComeFirst() async throws {
        let gateway = try await TestGateway.make(maxBodyBytes: 1024)
        let (account, key, keyID) = try await gateway.account(credits: 100_000)
        try await gateway.test { client in
            let before = try await Footprint.of(gateway, account: account, keyID: keyID)
            try await client.quote(key: nil, json: "not json").expectError(401, "invalid_api_key")
            try await client.quote(key: "vg_test_" + String(repeating: "a", count: 40), json: Self.body).expectError(401, "invalid_api_key")
            try await client.quote(key: key, json: "{}", contentType: "text/plain").expectError(415, "unsupported_media_type")
            let large = #"{"prompt":"\#(String(repeating: "a", count: 2000))","model":"nope"}"#
            try await client.quote(key: key, json: large).expectError(413, "payload_too_large")
            try await client.quote(key: key, json: "[1, 2]").expectError(400, "invalid_json")
            try await client.quote(key: key, json: "{").expectError(400, "invalid_json")
            #expect(try await Footprint.of(gateway, account: account, keyID: keyID) == before)
        }
    }

    @Test func aLiveModelWithoutProviderIs503AsOnSubmit() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account(credits: 100_000, environment: .live)
        try await gateway.test { client in
            try await client.quote(key: key, json: Self.body).expectError(503, "model_unavailable", param: "model")
            try await client.submit(key: key, json: Self.body).expectError(503, "model_unavailable", param: "model")
        }
    }
}

extension TestClientProtocol {
    func quote(key: String?, json: String, contentType: String = "application/json") async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: contentType]
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await execute(uri: "/v1/video/quote", method: .post, headers: headers, body: ByteBuffer(string: json))
    }
}
