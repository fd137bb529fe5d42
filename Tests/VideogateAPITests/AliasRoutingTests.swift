import Foundation
import Hummingbird
import HummingbirdTesting
import ProviderFakes
import Testing
import VideogateApp
import VideogateDomain
import VideogateProviders

/// A live job of an alias through the worker's router (operations.md, "Provider routing",
/// "Aliases"): offered to its members in order, moving to the next member when every credential
/// of one fails before acceptance, and recorded on the member that accepted it.
@Suite("Alias failover between members")
struct AliasRoutingTests {
    static let wanCreate = "/api/v1/services/"
    static let klingCreate = "/v1/videos/text2video"

    /// A WAN fake and a Kling fake, one credential each, and the alias `video-fast` over
    /// wan-2.5 then kling-v2.5-turbo-pro.
    func run(
        script: @Sendable (FakeUpstream, FakeUpstream) -> Void,
        _ body: @escaping @Sendable (TestGateway, FakeUpstream, FakeUpstream, any TestClientProtocol, (account: Account, key: String)) async throws -> Void
    ) async throws {
        let video = try FakeVideo.mp4()
        let wan = FakeUpstream(video: video)
        let kling = FakeUpstream(video: video)
        try await wan.run(routes: FakeWan(apiKey: "wan-key").routes) { wan in
            try await kling.run(routes: FakeKling(accessKey: "ak", secretKey: "sk").routes) { kling in
                script(wan, kling)
                let file = #"""
                    {"credentials": [
                      {"name": "wan-a", "provider": "wan", "api_key": "env:WAN_A", "base_url": "\#(wan.origin)/api/v1"},
                      {"name": "kling-a", "provider": "kling", "access_key": "env:KLING_AK", "secret_key": "env:KLING_SK",
                       "base_url": "\#(kling.origin)"}],
                     "aliases": {"video-fast": {"members": ["wan-2.5", "kling-v2.5-turbo-pro"], "credits": 2000}}}
                    """#
                let gateway = try await TestGateway.make(role: .all, jobTimeout: 120) { config in
                    config.providers.file = try! ProvidersFile.parse(Data(file.utf8))
                    config.providers.environment = ["WAN_A": "wan-key", "KLING_AK": "ak", "KLING_SK": "sk"]
                    config.providers.pollSchedule = PollSchedule(firstPoll: 0.05, interval: 0.05, maxInterval: 0.2)
                    config.outboundAllowHosts = ["127.0.0.1"]
                }
                let (account, key, _) = try await gateway.account(credits: 10_000, environment: .live)
                try await gateway.test { client in try await body(gateway, wan, kling, client, (account, key)) }
            }
        }
    }

    func submit(_ client: any TestClientProtocol, key: String) async throws -> String {
        let response = try await client.submit(key: key, json: #"{"prompt":"a lighthouse at dusk","model":"video-fast"}"#)
        #expect(response.status == .ok, "\(response.text)")
        let job = try response.json()
        #expect(job["model"] as? String == "video-fast" && job["credits_reserved"] as? Int == 2000)
        return try #require(job["request_id"] as? String)
    }

    @Test func aJobMovesToTheNextMemberWhenEveryCredentialOfTheFirstFails() async throws {
        try await run(script: { wan, _ in wan.inject(Array(repeating: .status(503), count: 100), on: .create) }) { gateway, wan, kling, client, owner in
            let id = try await submit(client, key: owner.key)
            let final = try await client.waitForFinal(id, key: owner.key)
            #expect(final["status"] as? String == "completed", "\(final)")
            #expect(final["model"] as? String == "video-fast" && final["routed_model"] as? String == "kling-v2.5-turbo-pro")
            #expect(final["credits_used"] as? Int == 2000)
            // WAN was asked first (at least once: on a loaded machine a claim whose lease lapsed is
            // taken again and starts over at the first member), Kling exactly once.
            #expect(wan.requests(to: Self.wanCreate, method: "POST").count >= 1)
            #expect(kling.requests(to: Self.klingCreate, method: "POST").count == 1)
            // Kling was asked for its own model, and every poll went to Kling with Kling's credential.
            let create = try #require(kling.requests(to: Self.klingCreate, method: "POST").first)
            #expect(create.json?["model_name"] as? String == "kling-v2-5-turbo")
            #expect(wan.requests.filter { $0.method == "GET" }.isEmpty)
            let stored = try #require(try await gateway.store.job(id: id))
            #expect(stored.provider == .kling && stored.credential == "kling-a" && stored.routedModel == "kling-v2.5-turbo-pro")
            #expect(try await gateway.store.balances(accountID: owner.account.id)[.live] == Balance(total: 8_000, held: 0))
            #expect(wan.violations.isEmpty && kling.violations.isEmpty)
        }
    }

    @Test func aHealthyFirstMemberTakesTheJobAndTheSecondIsNeverAsked() async throws {
        try await run(script: { _, _ in }) { gateway, wan, kling, client, owner in
            let id = try await submit(client, key: owner.key)
            let final = try await client.waitForFinal(id, key: owner.key)
            #expect(final["status"] as? String == "completed", "\(final)")
            #expect(final["routed_model"] as? String == "wan-2.5")
            #expect(kling.requests.isEmpty)
            #expect(try await gateway.store.job(id: id)?.credential == "wan-a")
        }
    }

    @Test func theCallersOwnRefusalOnTheFirstMemberEndsTheJobWithoutTryingTheNext() async throws {
        try await run(script: { wan, _ in wan.refuseCreatesForPolicy() }) { gateway, wan, kling, client, owner in
            let id = try await submit(client, key: owner.key)
            let final = try await client.waitForFinal(id, key: owner.key)
            #expect(final["status"] as? String == "error", "\(final)")
            #expect(kling.requests.isEmpty)
            #expect(try await gateway.store.balances(accountID: owner.account.id)[.live] == Balance(total: 10_000, held: 0))
        }
    }
}
