import Foundation
import Hummingbird
import HummingbirdTesting
import ProviderFakes
import Testing
import VideogateApp
import VideogateDomain
import VideogateProviders

/// Credential pools through the whole gateway (operations.md, "Provider routing"): two WAN
/// credentials, each against a fake of its own on 127.0.0.1.
@Suite("Provider routing: pools, failover, breaker, max_concurrency")
struct CredentialRoutingTests {
    static let model = "wan-2.5"
    static let createPath = "/api/v1/services/"

    /// Two fakes (`a`, `b`) and a gateway whose providers file names one credential for each.
    func run(
        a extraA: String = "", b extraB: String = "", breakerOpen: TimeInterval = 30, script: @Sendable (FakeUpstream, FakeUpstream) -> Void = { _, _ in },
        _ body: @escaping @Sendable (TestGateway, FakeUpstream, FakeUpstream, any TestClientProtocol, (account: Account, key: String)) async throws -> Void
    ) async throws {
        let video = try FakeVideo.mp4()
        let fakeA = FakeUpstream(video: video)
        let fakeB = FakeUpstream(video: video)
        try await fakeA.run(routes: FakeWan(apiKey: "key-a").routes) { a in
            try await fakeB.run(routes: FakeWan(apiKey: "key-b").routes) { b in
                script(a, b)
                let file = #"""
                    {"credentials": [
                      {"name": "wan-a", "provider": "wan", "api_key": "env:WAN_A", "base_url": "\#(a.origin)/api/v1"\#(extraA)},
                      {"name": "wan-b", "provider": "wan", "api_key": "env:WAN_B", "base_url": "\#(b.origin)/api/v1"\#(extraB)}]}
                    """#
                let gateway = try await TestGateway.make(role: .all, jobTimeout: 120) { config in
                    config.providers.file = try! ProvidersFile.parse(Data(file.utf8))
                    config.providers.environment = ["WAN_A": "key-a", "WAN_B": "key-b"]
                    config.providers.pollSchedule = PollSchedule(firstPoll: 0.05, interval: 0.05, maxInterval: 0.2)
                    config.outboundAllowHosts = ["127.0.0.1"]
                    config.breakerOpenSeconds = breakerOpen
                }
                let (account, key, _) = try await gateway.account(credits: 1_000_000, environment: .live)
                try await gateway.test { client in try await body(gateway, a, b, client, (account, key)) }
            }
        }
    }

    func submit(_ client: any TestClientProtocol, key: String) async throws -> String {
        let response = try await client.submit(key: key, json: #"{"prompt":"a red fox in snow","model":"\#(Self.model)"}"#)
        #expect(response.status == .ok, "\(response.text)")
        return try #require(try response.json()["request_id"] as? String)
    }

    func credentials(_ client: any TestClientProtocol) async throws -> [String: [String: Any]] {
        let response = try await client.admin(.get, "/admin/providers")
        #expect(response.status == .ok)
        let list = try #require(try response.json()["credentials"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as? String ?? "", $0) })
    }

    func adminJob(_ client: any TestClientProtocol, _ account: Account, _ id: String) async throws -> [String: Any]? {
        let jobs = try await client.admin(.get, "/admin/jobs?account=\(account.id)").json()["data"] as? [[String: Any]]
        return jobs?.first { $0["id"] as? String == id }
    }

    @Test func aFailingCredentialHandsTheCreateToTheNextAndOpensAfterFiveFailures() async throws {
        try await run(script: { a, _ in a.inject(Array(repeating: .status(503), count: 100), on: .create) }) { gateway, a, b, client, owner in
            // Every job completes on wan-b, whichever credential the weighted choice tried first.
            var jobs = 0
            while a.requests(to: Self.createPath, method: "POST").count < 5 && jobs < 40 {
                let id = try await submit(client, key: owner.key)
                let final = try await client.waitForFinal(id, key: owner.key)
                #expect(final["status"] as? String == "completed", "\(final)")
                #expect(try await adminJob(client, owner.account, id)?["credential"] as? String == "wan-b")
                jobs += 1
            }
            #expect(a.requests(to: Self.createPath, method: "POST").count == 5)
            let listed = try await credentials(client)
            let broken = try #require(listed["wan-a"])
            #expect(broken["state"] as? String == "open")
            #expect(broken["recent_failures"] as? Int == 5)
            #expect((broken["last_error"] as? String)?.contains("503") == true)
            #expect(broken["opened_until"] is String)
            #expect(broken["provider"] as? String == "wan" && broken["route"] as? String == "api")
            #expect(listed["wan-b"]?["state"] as? String == "closed")
            #expect(listed["wan-b"]?["opened_until"] is NSNull)
            // While open, wan-a gets no creates at all.
            for _ in 0..<4 {
                let id = try await submit(client, key: owner.key)
                #expect(try await client.waitForFinal(id, key: owner.key)["status"] as? String == "completed")
            }
            #expect(a.requests(to: Self.createPath, method: "POST").count == 5)
            #expect(b.requests(to: Self.createPath, method: "POST").count == jobs + 4)
            // The metrics carry the same, labelled by credential.
            let metrics = try await client.get("/metrics", key: nil).text
            #expect(metrics.contains(#"videogate_credential_state{credential="wan-a",provider="wan",state="open"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"videogate_credential_failures_total{credential="wan-a",provider="wan"} 5"#))
            #expect(a.violations.isEmpty && b.violations.isEmpty)
        }
    }

    @Test func anOpenBreakerIsProbedByOneRealCreateAndASuccessClosesIt() async throws {
        try await run(breakerOpen: 1, script: { a, b in
            a.inject(Array(repeating: .status(500), count: 5), on: .create)
            b.inject(Array(repeating: .status(500), count: 5), on: .create)
        }) { gateway, a, b, client, owner in
            // Both credentials fail five times between them... until each breaker opens; then the job
            // waits for the first probe, which succeeds (the fakes' faults are used up).
            let id = try await submit(client, key: owner.key)
            let final = try await client.waitForFinal(id, key: owner.key, timeout: .seconds(90))
            #expect(final["status"] as? String == "completed", "\(final)")
            let listed = try await credentials(client)
            #expect(listed["wan-a"]?["state"] as? String == "closed" || listed["wan-b"]?["state"] as? String == "closed")
            let bound = try #require(try await adminJob(client, owner.account, id)?["credential"] as? String)
            #expect(listed[bound]?["state"] as? String == "closed" && listed[bound]?["recent_failures"] as? Int == 0)
            #expect(listed[bound]?["failures_total"] as? Int ?? 0 >= 1)
        }
    }

    @Test func whenEveryCredentialIsOpenALiveSubmissionIs503WithRetryAfterAndHoldsNothing() async throws {
        try await run(breakerOpen: 300, script: { a, b in
            a.inject(Array(repeating: .status(503), count: 100), on: .create)
            b.inject(Array(repeating: .status(503), count: 100), on: .create)
        }) { gateway, a, b, client, owner in
            // Five jobs try both credentials until both breakers open (5 failures each); they stay
            // pending, waiting for a probe in 300 s.
            var accepted: Set<String> = []
            for _ in 0..<5 { accepted.insert(try await submit(client, key: owner.key)) }
            var listed: [String: [String: Any]] = [:]
            for _ in 0..<600 {
                listed = try await credentials(client)
                if listed.values.allSatisfy({ $0["state"] as? String == "open" }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(listed["wan-a"]?["state"] as? String == "open" && listed["wan-b"]?["state"] as? String == "open", "\(listed)")
            try await Task.sleep(for: .milliseconds(1_100))  // past the submit path's 1 s health cache
            let before = try await gateway.store.balances(accountID: owner.account.id)[.live]
            let creates = a.requests(to: Self.createPath, method: "POST").count + b.requests(to: Self.createPath, method: "POST").count
            let refused = try await client.submit(key: owner.key, json: #"{"prompt":"a red fox in snow","model":"\#(Self.model)"}"#)
            try refused.expectError(503, "model_unavailable", param: "model")
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter >= 1 && retryAfter <= 300)
            // Nothing held, nothing created, nothing sent upstream.
            #expect(try await gateway.store.balances(accountID: owner.account.id)[.live] == before)
            let jobs = try await client.admin(.get, "/admin/jobs?account=\(owner.account.id)").json()["data"] as? [[String: Any]]
            #expect(Set(jobs?.compactMap { $0["id"] as? String } ?? []) == accepted)
            #expect(a.requests(to: Self.createPath, method: "POST").count + b.requests(to: Self.createPath, method: "POST").count == creates)
            // The quote says the same; a test key is not affected (the sandbox renders).
            try await client.quote(key: owner.key, json: #"{"prompt":"a fox","model":"\#(Self.model)"}"#)
                .expectError(503, "model_unavailable", param: "model")
            let (_, testKey, _) = try await gateway.account(environment: .test)
            let sandbox = try await client.submit(key: testKey, json: #"{"prompt":"a red fox in snow","model":"\#(Self.model)"}"#)
            #expect(sandbox.status == .ok, "\(sandbox.text)")
        }
    }

    @Test func theCallersOwnRefusalNeitherFailsOverNorCountsAgainstHealth() async throws {
        try await run(script: { a, b in
            a.refuseCreatesForPolicy()
            b.refuseCreatesForPolicy()
        }) { gateway, a, b, client, owner in
            let id = try await submit(client, key: owner.key)
            let final = try await client.waitForFinal(id, key: owner.key)
            #expect((final["error"] as? [String: Any])?["code"] as? String == "content_policy_violation", "\(final)")
            // One create in all: the refusal is the caller's outcome, not the credential's.
            let creates = a.requests(to: Self.createPath, method: "POST").count + b.requests(to: Self.createPath, method: "POST").count
            #expect(creates == 1)
            let listed = try await credentials(client)
            #expect(listed.values.allSatisfy { $0["state"] as? String == "closed" && $0["recent_failures"] as? Int == 0 })
        }
    }

    @Test func aFullPoolKeepsJobsPendingWithAQueuePositionUntilASlotFrees() async throws {
        try await run(a: #", "max_concurrency": 1"#, b: #", "max_concurrency": 1"#, script: { a, b in
            a.runningPolls(40)
            b.runningPolls(40)
        }) { gateway, a, b, client, owner in
            let ids = [try await submit(client, key: owner.key), try await submit(client, key: owner.key), try await submit(client, key: owner.key)]
            // Two are taken upstream, one per credential; the third waits pending.
            let deadline = ContinuousClock.now + .seconds(30)
            var statuses: [String] = []
            while ContinuousClock.now < deadline {
                statuses = try await ids.asyncMap { try await client.get("/v1/video/\($0)", key: owner.key).json()["status"] as? String ?? "" }
                if statuses.filter({ $0 == "processing" }).count == 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(statuses.sorted() == ["pending", "processing", "processing"], "\(statuses)")
            let waiting = try #require(ids.first { statuses[ids.firstIndex(of: $0)!] == "pending" })
            let view = try await client.get("/v1/video/\(waiting)", key: owner.key).json()
            #expect(view["queue_position"] is Int, "\(view)")
            let listed = try await credentials(client)
            #expect(listed["wan-a"]?["in_flight"] as? Int == 1 && listed["wan-b"]?["in_flight"] as? Int == 1)
            #expect(listed["wan-a"]?["max_concurrency"] as? Int == 1)
            // Never more than one task upstream per credential, and all three complete.
            for id in ids { #expect(try await client.waitForFinal(id, key: owner.key, timeout: .seconds(90))["status"] as? String == "completed") }
            #expect(a.tasks.count + b.tasks.count == 3)
            #expect(a.violations.isEmpty && b.violations.isEmpty)
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
