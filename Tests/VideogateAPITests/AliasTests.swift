import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VideogateApp
import VideogateDomain
import VideogateProviders

/// Model aliases of the providers file (operations.md, "Provider routing", "Aliases").
@Suite("Model aliases")
struct AliasTests {
    /// wan-2.5 and kling-v2.5-turbo-pro both render 5 or 10 s in every ratio; wan first.
    static func withAlias(_ config: inout AppConfiguration) {
        config.providers.file = ProvidersFile(aliases: [
            AliasDefinition(id: "video-fast", members: ["wan-2.5", "kling-v2.5-turbo-pro"], credits: 2000)
        ])
    }

    static let body = #"{"prompt":"a lighthouse at dusk","model":"video-fast"}"#

    @Test func modelsListTheAliasWithItsMembersPriceAndCommonOptions() async throws {
        let gateway = try await TestGateway.make(configure: Self.withAlias)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let models = try #require(try await client.get("/v1/models", key: key).json()["data"] as? [[String: Any]])
            #expect(models.count == 14)
            let alias = try #require(models.first { $0["id"] as? String == "video-fast" })
            #expect(alias["members"] as? [String] == ["wan-2.5", "kling-v2.5-turbo-pro"])
            #expect(alias["credits"] as? Int == 2000 && alias["mode"] as? String == "text-to-video" && alias["provider"] as? String == "wan")
            #expect(alias["durations"] as? [Int] == [5, 10] && alias["default_duration"] as? Int == 5)
            #expect(alias["aspect_ratios"] as? [String] == ["16:9", "9:16", "1:1"] && alias["available"] as? Bool == true)
            // Plain models carry no members.
            #expect(models.filter { $0["members"] != nil }.count == 1)
            // The OpenAPI document offers the alias as a model.
            let document = try await client.get("/openapi.json", key: nil).text
            #expect(document.contains(#""video-fast""#))
        }
    }

    @Test func testKeyJobOfAnAliasCompletesInTheSandboxChargingTheAliasPrice() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 20, configure: Self.withAlias)
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let created = try await client.submit(key: key, json: Self.body)
            #expect(created.status == .ok, "\(created.text)")
            let job = try created.json()
            let id = try #require(job["request_id"] as? String)
            #expect(job["model"] as? String == "video-fast" && job["credits_reserved"] as? Int == 2000)
            #expect(job["routed_model"] as? String == "wan-2.5")
            let final = try await client.waitForFinal(id, key: key)
            #expect(final["status"] as? String == "completed", "\(final)")
            #expect(final["model"] as? String == "video-fast" && final["routed_model"] as? String == "wan-2.5")
            #expect(final["credits_used"] as? Int == 2000 && final["duration"] as? Int == 5)
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 8_000, held: 0))
            let ledger = try await gateway.store.ledger(accountID: account.id, limit: 10, before: nil).filter { $0.jobID == id }
            #expect(ledger.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.capture, .hold])
            #expect(ledger.allSatisfy { abs($0.amount) == 2000 }, "\(ledger)")
            let listed = try #require(try await client.get("/v1/video", key: key).json()["data"] as? [[String: Any]])
            #expect(listed.first?["routed_model"] as? String == "wan-2.5")
            let video = try await client.get("/v1/videos/\(id)", key: key).json()
            #expect(video["model"] as? String == "video-fast" && video["routed_model"] as? String == "wan-2.5")
        }
    }

    @Test func aliasOutsideItsMembersCommonDurationsIsRefused() async throws {
        let gateway = try await TestGateway.make(configure: Self.withAlias)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            // wan-2.5-i2v would take 6 s; wan-2.5 and kling take 5 or 10.
            let refused = try await client.submit(key: key, json: #"{"prompt":"x","model":"video-fast","duration":6}"#)
            try refused.expectError(400, "invalid_duration", param: "duration")
        }
    }

    @Test func misspelledAliasIsInvalidModelWithoutHold() async throws {
        let gateway = try await TestGateway.make(configure: Self.withAlias)
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            for model in ["video-fastt", "VIDEO-FAST", "video-fast "] {
                try await client.submit(key: key, json: #"{"prompt":"x","model":"\#(model)"}"#).expectError(400, "invalid_model", param: "model")
            }
            try await client.createVideo(key: key, [.text("prompt", "p"), .text("model", "video-fastt")])
                .expectOpenAIError(400, "invalid_model", param: "model")
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 10_000, held: 0))
        }
        // Without the providers file's alias, its id is no model at all.
        let plain = try await TestGateway.make()
        let (_, plainKey, _) = try await plain.account(credits: 10_000)
        try await plain.test { client in
            try await client.submit(key: plainKey, json: Self.body).expectError(400, "invalid_model", param: "model")
        }
    }

    @Test func aliasWithoutAnyMembersCredentialsIs503ForLiveKeysWithoutHold() async throws {
        let gateway = try await TestGateway.make(configure: Self.withAlias)
        let (account, key, _) = try await gateway.account(credits: 10_000, environment: .live)
        try await gateway.test { client in
            let models = try #require(try await client.get("/v1/models", key: key).json()["data"] as? [[String: Any]])
            #expect(models.first { $0["id"] as? String == "video-fast" }?["available"] as? Bool == false)
            try await client.submit(key: key, json: Self.body).expectError(503, "model_unavailable", param: "model")
            #expect(try await gateway.store.balances(accountID: account.id)[.live] == Balance(total: 10_000, held: 0))
        }
    }

    @Test func aliasIsAvailableToLiveKeysWhenOneMembersProviderHasCredentials() async throws {
        // Only Kling, the second member, has credentials; no worker runs, so the job stays unrouted.
        let gateway = try await TestGateway.make(role: .api) { config in
            Self.withAlias(&config)
            config.providers.klingAccessKey = "ak"
            config.providers.klingSecretKey = "sk"
        }
        let (account, key, _) = try await gateway.account(credits: 10_000, environment: .live)
        try await gateway.test { client in
            let models = try #require(try await client.get("/v1/models", key: key).json()["data"] as? [[String: Any]])
            #expect(models.first { $0["id"] as? String == "video-fast" }?["available"] as? Bool == true)
            let created = try await client.submit(key: key, json: Self.body)
            let job = try created.json()
            let id = try #require(job["request_id"] as? String, "\(created.text)")
            #expect(job["routed_model"] is NSNull, "\(job)")
            let polled = try await client.get("/v1/video/\(id)", key: key).json()
            #expect(polled["routed_model"] is NSNull && polled["status"] as? String == "pending")
            #expect(try await gateway.store.balances(accountID: account.id)[.live] == Balance(total: 10_000, held: 2000))
            // The job starts on the first member; the worker's router moves it on.
            let stored = try #require(try await gateway.store.job(id: id))
            #expect(stored.modelID == "video-fast" && stored.provider == .wan && stored.upstreamModel == "wan2.5-t2v-preview")
            #expect(stored.creditsReserved == 2000 && stored.routedModel == nil)
            // A plain model's job has no routed_model at all.
            let plain = try await client.submit(key: key, json: #"{"prompt":"x","model":"kling-v2.5-turbo-pro"}"#).json()
            #expect(plain["routed_model"] == nil && plain["request_id"] != nil, "\(plain)")
        }
    }

    @Test func aliasNamingAModelOfAnotherModeStopsTheStartNamingTheField() async throws {
        let error = try await #require(throws: ConfigurationError.self) {
            _ = try await TestGateway.make { config in
                config.providers.file = ProvidersFile(aliases: [AliasDefinition(id: "mixed", members: ["sora-2", "veo3-fast-i2v"], credits: 1)])
            }
        }
        #expect(error.description.hasPrefix("VIDEOGATE_PROVIDERS_FILE: aliases.mixed.members[1]: "), "\(error.description)")
    }
}
