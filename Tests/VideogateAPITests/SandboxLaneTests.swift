import Foundation
import Testing
import VideogateApp
import VideogateDomain

@Suite("The sandbox lane")
struct SandboxLaneTests {
    @Test func testJobsBeyondTheLaneWaitPendingNotHalfStarted() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 400) { $0.sandboxConcurrency = 1 }
        let (account, key, _) = try await gateway.account(credits: 100_000)
        try await gateway.test { client in
            var ids: [String] = []
            for index in 0..<4 {
                let reply = try await client.submit(key: key, json: #"{"prompt":"lane \#(index)","model":"kling-v2.5-turbo-pro"}"#).json()
                ids.append(try #require(reply["request_id"] as? String))
            }
            // Watch the queue until every job is final: never more than the lane's one job out of `pending`.
            var mostStarted = 0
            var sawWaiting = false
            let deadline = ContinuousClock.now + .seconds(120)
            var finished = 0
            while finished < ids.count && ContinuousClock.now < deadline {
                let jobs = try await gateway.store.jobs(accountID: account.id, status: nil, limit: 100, before: nil)
                let started = jobs.filter { $0.status == .processing || ($0.status == .pending && $0.leaseOwner != nil) }.count
                mostStarted = max(mostStarted, started)
                if started == 1 && jobs.contains(where: { $0.status == .pending && $0.leaseOwner == nil }) { sawWaiting = true }
                finished = jobs.filter(\.status.isTerminal).count
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(finished == ids.count)
            #expect(mostStarted == 1)
            #expect(sawWaiting)
            for id in ids { #expect(try await client.get("/v1/video/\(id)", key: key).json()["status"] as? String == "completed") }
        }
    }
}
