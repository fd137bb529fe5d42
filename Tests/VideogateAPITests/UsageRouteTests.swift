import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import VideogateApp
import VideogateDomain

@Suite("GET /v1/usage and /admin/usage")
struct UsageRouteTests {
    static let body = #"{"prompt":"p","model":"kling-v2.5-turbo-pro"}"#
    static let other = #"{"prompt":"p","model":"wan-2.5","duration":10}"#

    /// Ends the gateway's pending jobs: the first `completed`, the second `error`, the rest stay pending.
    static func endJobs(_ gateway: TestGateway, ids: [String]) async throws {
        let now = Date()
        let claimed = try await gateway.store.claimJobs(
            owner: "t", limit: 100, now: now.addingTimeInterval(1), leaseUntil: now.addingTimeInterval(60))
        for job in claimed {
            let token = try #require(job.leaseToken)
            let event: JobEvent
            switch ids.firstIndex(of: job.id) {
            case 0: event = .succeeded(JobResult(videoKey: "v", thumbnailKey: nil, videoBytes: 1, durationMilliseconds: 4_960, width: 2, height: 2))
            case 1: event = .failed(JobFailure(.providerError, "no"))
            default:
                try await gateway.store.releaseLease(jobID: job.id, token: token)
                continue
            }
            #expect(try await gateway.store.apply(try JobStateMachine.apply(event, to: job, now: now, videoTTL: 60), token: token, at: now))
        }
    }

    static func rows(_ response: TestResponse) throws -> [[String: Any]] {
        #expect(response.status == .ok, "\(response.text)")
        return try #require(try response.json()["data"] as? [[String: Any]])
    }

    @Test func theCallersJobsHowTheyEndedAndWhatTheyCost() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, keyID) = try await gateway.account(credits: 1_000_000)
        try await gateway.test { client in
            var ids: [String] = []
            var credits: [String: Int] = [:]
            var days: Set<String> = []
            for body in [Self.body, Self.other, Self.body] {
                let job = try await client.submit(key: key, json: body).json()
                let id = try #require(job["request_id"] as? String)
                ids.append(id)
                credits[id] = job["credits_reserved"] as? Int
                days.insert(String(try #require(job["created_at"] as? String).prefix(10)))
            }
            try await Self.endJobs(gateway, ids: ids)
            let usedBefore = try await client.get("/v1/account", key: key).json()["account"].flatMap { ($0 as? [String: Any])?["used"] as? Int }
            // The UTC day of creation (the same for the three, unless they straddle midnight).
            try #require(days.count == 1)
            let today = try #require(days.first)

            let byDay = try await client.get("/v1/usage", key: key)
            #expect(byDay.headers[HTTPField.Name("X-RateLimit-Limit")!] != nil)
            let report = try byDay.json()
            #expect(report["success"] as? Bool == true && report["group_by"] as? String == "day")
            let rows = try Self.rows(byDay)
            #expect(rows.count == 1)
            #expect(rows.first?["day"] as? String == today && rows.first?["jobs"] as? Int == 3)
            #expect(rows.first?["completed"] as? Int == 1 && rows.first?["failed"] as? Int == 1)
            #expect(rows.first?["credits_charged"] as? Int == credits[ids[0]] && rows.first?["seconds_rendered"] as? Int == 5)

            let byModel = try Self.rows(try await client.get("/v1/usage?group_by=model&from=\(today)&to=\(today)", key: key))
            #expect(byModel.map { $0["model"] as? String } == ["kling-v2.5-turbo-pro", "wan-2.5"])
            #expect(byModel.map { $0["jobs"] as? Int } == [2, 1] && byModel.map { $0["failed"] as? Int } == [0, 1])
            let byKey = try Self.rows(try await client.get("/v1/usage?group_by=key", key: key))
            #expect(byKey.map { $0["key_id"] as? String } == [keyID] && byKey.first?["day"] == nil)

            // A range that ends before the jobs: nothing.
            #expect(try Self.rows(try await client.get("/v1/usage?from=2020-01-01&to=2020-12-31", key: key)).isEmpty)
            // Reading usage counts nothing against the daily limit.
            let usedAfter = try await client.get("/v1/account", key: key).json()["account"].flatMap { ($0 as? [String: Any])?["used"] as? Int }
            #expect(usedBefore == 3 && usedAfter == 3)
        }
    }

    @Test func noAccountOrEnvironmentSeesAnothersUsage() async throws {
        let gateway = try await TestGateway.make()
        let (alice, aliceKey, _) = try await gateway.account()
        let (_, aliceLive) = try await gateway.actions.createKey(accountID: alice.id, environment: .live, name: nil)
        let (bob, bobKey, _) = try await gateway.account()
        try await gateway.test { client in
            for key in [aliceKey, aliceKey, bobKey] { #expect(try await client.submit(key: key, json: Self.body).status == .ok) }
            #expect(try Self.rows(try await client.get("/v1/usage", key: aliceKey)).first?["jobs"] as? Int == 2)
            #expect(try Self.rows(try await client.get("/v1/usage", key: bobKey)).first?["jobs"] as? Int == 1)
            #expect(try Self.rows(try await client.get("/v1/usage", key: aliceLive)).isEmpty)

            // The admin API: all accounts (of the live environment unless asked), one account, by account.
            #expect(try Self.rows(try await client.admin(.get, "/admin/usage")).isEmpty)
            #expect(try Self.rows(try await client.admin(.get, "/admin/usage?environment=test")).first?["jobs"] as? Int == 3)
            #expect(try Self.rows(try await client.admin(.get, "/admin/usage?environment=test&account=\(bob.id)")).first?["jobs"] as? Int == 1)
            let byAccount = try Self.rows(try await client.admin(.get, "/admin/usage?environment=test&group_by=account"))
            let expected = [(alice.id, 2), (bob.id, 1)].sorted { $0.0 < $1.0 }
            #expect(byAccount.map { $0["account_id"] as? String } == expected.map(\.0))
            #expect(byAccount.map { $0["jobs"] as? Int } == expected.map(\.1))
        }
    }

    static let badQueries: [(String, String)] = [
        ("from=yesterday", "from"), ("to=2026-02-30", "to"), ("from=2026-11-01T00:00:00", "from"), ("from=", "from"),
        ("from=2026-11-02&to=2026-11-01", "from"), ("from=2025-01-01&to=2026-01-02", "to"), ("group_by=week", "group_by"),
        ("group_by=", "group_by"), ("group_by=account", "group_by"), ("group_by=DAY", "group_by"),
    ]

    @Test func badQueriesAre400AndChangeNothing() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account()
        try await gateway.test { client in
            #expect(try await client.submit(key: key, json: Self.body).status == .ok)
            let before = try await gateway.store.ledger(accountID: account.id, limit: 100, before: nil)
            for (query, param) in Self.badQueries {
                let response = try await client.get("/v1/usage?\(query)", key: key)
                try response.expectError(400, "invalid_parameter", param: param)
                #expect(response.headers[HTTPField.Name("X-RateLimit-Remaining")!] == "999", "\(query)")
                if query != "group_by=account" {
                    try await client.admin(.get, "/admin/usage?\(query)").expectError(400, "invalid_parameter", param: param)
                }
            }
            try await client.get("/v1/usage", key: nil).expectError(401, "invalid_api_key")
            try await client.get("/v1/usage", key: "vg_test_nope").expectError(401, "invalid_api_key")
            try await client.admin(.get, "/admin/usage", token: "wrong").expectError(401, "unauthorized")
            try await client.admin(.get, "/admin/usage?environment=prod").expectError(400, "invalid_parameter", param: "environment")
            try await client.admin(.get, "/admin/usage?account=acct_missing").expectError(404, "not_found")
            #expect(try await gateway.store.ledger(accountID: account.id, limit: 100, before: nil) == before)
            let used = try await client.get("/v1/account", key: key).json()["account"].flatMap { ($0 as? [String: Any])?["used"] as? Int }
            #expect(used == 1)
        }
    }
}
