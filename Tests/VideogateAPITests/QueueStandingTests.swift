import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import VideogateApp
import VideogateDomain

@Suite("queue_position and estimated_completion_at")
struct QueueStandingTests {
    static let body = #"{"prompt":"p","model":"kling-v2.5-turbo-pro"}"#

    static func date(_ value: Any?) -> Date? { (value as? String).flatMap { try? Date($0, strategy: .iso8601) } }

    @Test func pollsAndListsShowEachPendingJobsTurnAndEstimate() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        // No workers: the jobs stay pending. Sandbox lane of 2 slots, default run time 0 s delay + 2 s.
        let gateway = try await TestGateway.make(clock: clock) { $0.sandboxConcurrency = 2 }
        let (_, alice, _) = try await gateway.account()
        let (_, bob, _) = try await gateway.account()
        try await gateway.test { client in
            var ids: [String] = []
            for key in [alice, alice, bob] {
                ids.append(try #require(try await client.submit(key: key, json: Self.body).json()["request_id"] as? String))
                clock.advance(by: 0.01)
            }
            // Round-robin: Alice's first, Bob's first, then Alice's second.
            let expected = [ids[0]: 0, ids[2]: 1, ids[1]: 2]
            for (id, key) in [(ids[0], alice), (ids[1], alice), (ids[2], bob)] {
                let job = try await client.get("/v1/video/\(id)", key: key).json()
                #expect(job["queue_position"] as? Int == expected[id])
                // 2 s × (1 + position / 2 slots) from now.
                let seconds = 2 * (1 + Double(expected[id] ?? 0) / 2)
                let estimate = try #require(Self.date(job["estimated_completion_at"]))
                #expect(abs(estimate.timeIntervalSince(clock.now()) - seconds) < 1)
            }
            let list = try #require(try await client.get("/v1/video", key: alice).json()["data"] as? [[String: Any]])
            #expect(list.map { $0["queue_position"] as? Int } == [2, 0])
            #expect(list.allSatisfy { Self.date($0["estimated_completion_at"]) != nil })

            // The OpenAI object carries the same, its time in Unix seconds.
            let video = try await client.get("/v1/videos/\(ids[1])", key: alice).json()
            #expect(video["queue_position"] as? Int == 2)
            #expect((video["estimated_completion_at"] as? Int).map { abs(Double($0) - clock.now().timeIntervalSince1970 - 4) < 1 } == true)
            let videos = try #require(try await client.get("/v1/videos", key: alice).json()["data"] as? [[String: Any]])
            #expect(videos.map { $0["queue_position"] as? Int } == [2, 0])

            // A job submitted after the order was read is placed at once (the order is read again):
            // Carol has nothing in flight, so she goes before Alice's second job.
            let (_, carol, _) = try await gateway.account()
            clock.advance(by: 0.01)
            let late = try #require(try await client.submit(key: carol, json: Self.body).json()["request_id"] as? String)
            #expect(try await client.get("/v1/video/\(late)", key: carol).json()["queue_position"] as? Int == 2)
            #expect(try await client.get("/v1/video/\(ids[1])", key: alice).json()["queue_position"] as? Int == 3)
        }
    }

    @Test func finishedJobsAndTheirWebhooksCarryNeither() async throws {
        let gateway = try await TestGateway.make(role: .all)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: Self.body).json()["request_id"] as? String)
            let failed = try #require(try await client.submit(key: key, json: #"{"prompt":"[sandbox:error]","model":"sora-2"}"#).json()["request_id"] as? String)
            for id in [id, failed] {
                let final = try await client.waitForFinal(id, key: key)
                #expect(final["queue_position"] == nil && final["estimated_completion_at"] == nil)
                let job = try #require(try await gateway.store.job(id: id))
                let payload = try JSONSerialization.jsonObject(with: try await gateway.gateway.services.webhookPayload(job)) as? [String: Any]
                #expect(payload?["status"] as? String == final["status"] as? String)
                #expect(payload?["queue_position"] == nil && payload?["estimated_completion_at"] == nil)
                let video = try await client.get("/v1/videos/\(id)", key: key).json()
                #expect(video["queue_position"] == nil && video["estimated_completion_at"] == nil)
            }
            // The completion was measured: the model's run time replaces the sandbox default.
            #expect(try await gateway.store.modelTimings().map(\.modelID) == ["kling-v2.5-turbo-pro"])
        }
    }
}
