import Foundation
import Testing

/// Cancel through the real binary: with the one sandbox slot busy rendering a job, a job queued
/// behind it is cancelled, and it never renders, though the worker goes on to render a later job.
@Suite("Cancel in the binary", .serialized)
struct CancelProcessTests {
    @Test func aQueuedJobCancelledWhileTheWorkerIsBusyNeverRenders() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(
            environment: ServerLifecycleTests.environment(
                data, ["VIDEOGATE_ADMIN_TOKEN": ReplicaTests.admin, "VIDEOGATE_SANDBOX_DELAY_MS": "3000", "VIDEOGATE_SANDBOX_CONCURRENCY": "1"]))
        defer { server.stop() }
        try await withHTTP { http in
            let base = server.baseURL
            let client = try await ReplicaTests.Client.make(http, base: base, plan: "pro", credits: 10_000, dailyLimit: nil)
            let body = #"{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro"}"#
            func submit() async throws -> String {
                let reply = try await http.send(.POST, "\(base)/v1/video", bearer: client.key, json: body)
                return try #require(reply.json["request_id"] as? String, "\(reply.status) \(reply.text)")
            }
            func job(_ id: String) async throws -> [String: Any] { try await http.send(.GET, "\(base)/v1/video/\(id)", bearer: client.key).json }

            // The busy job takes the only sandbox slot (held from its claim to its end).
            let busy = try await submit()
            let deadline = ContinuousClock.now + .seconds(30)
            while try await job(busy)["status"] as? String == "pending" && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            try #require(try await job(busy)["status"] as? String == "processing", "the busy job did not start\n\(server.logTail)")

            let queued = try await submit()
            let cancel = try await http.send(.POST, "\(base)/v1/video/\(queued)/cancel", bearer: client.key)
            #expect(cancel.status == 200, "\(cancel.text)")
            #expect(cancel.json["status"] as? String == "error" && (cancel.json["error"] as? [String: Any])?["code"] as? String == "cancelled")
            #expect(try await http.send(.POST, "\(base)/v1/videos/\(queued)/cancel", bearer: client.key).json["status"] as? String == "failed")
            let refused = try await http.send(.POST, "\(base)/v1/video/\(busy)/cancel", bearer: client.key)
            #expect(refused.status == 409 && refused.json["error"] as? String == "not_cancellable", "\(refused.text)")

            // A later job renders after the busy one, so the worker has claimed past the cancelled job.
            let later = try await submit()
            #expect(try await http.waitForFinal(base, id: busy, key: client.key)["status"] as? String == "completed")
            #expect(try await http.waitForFinal(base, id: later, key: client.key)["status"] as? String == "completed")

            let final = try await job(queued)
            #expect(final["status"] as? String == "error" && final["credits_used"] as? Int == 0 && final["video_url"] == nil)
            #expect((final["error"] as? [String: Any])?["code"] as? String == "cancelled")
            let content = try await http.send(.GET, "\(base)/v1/video/\(queued)/content", bearer: client.key)
            #expect(content.status == 404)
            let listed = try await http.send(.GET, "\(base)/admin/jobs?account=\(client.accountID)&limit=100", bearer: ReplicaTests.admin)
            let admin = try #require((listed.json["data"] as? [[String: Any]])?.first { $0["id"] as? String == queued }, "\(listed.text)")
            #expect(admin["attempts"] as? Int == 0 && admin["provider_job_id"] == nil && admin["lease_owner"] == nil, "\(admin)")

            let ledger = try await client.ledger(http, base: base).filter { $0["job_id"] as? String == queued }.compactMap { $0["kind"] as? String }
            #expect(ledger.sorted() == ["hold", "release"])
            let account = try await http.send(.GET, "\(base)/v1/account", bearer: client.key).json["account"] as? [String: Any]
            let test = (account?["balances"] as? [String: Any])?["test"] as? [String: Int]
            #expect(test == ["available": 10_000 - 2 * 1500, "held": 0], "\(String(describing: account))")
        }
    }
}
