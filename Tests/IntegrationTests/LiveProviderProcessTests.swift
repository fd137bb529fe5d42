import AsyncHTTPClient
import Foundation
import ProviderFakes
import Testing

/// The real binary with a live key against a fake Kling on 127.0.0.1, killed while Kling renders.
@Suite("The videogate binary with a live provider", .serialized)
struct LiveProviderProcessTests {
    @Test func sigkillWhileKlingRendersFinishesOnceWithOneUpstreamTask() async throws {
        let fake = FakeUpstream(video: try FakeVideo.mp4())
        try await fake.run(routes: FakeKling().routes) { fake in
            fake.runningPolls(1_000_000)
            let data = DataDirectory()
            defer { data.remove() }
            let admin = "integration-admin-token"
            let environment = ServerLifecycleTests.environment(data, [
                "VIDEOGATE_ADMIN_TOKEN": admin, "VIDEOGATE_JOB_LEASE_SECONDS": "2", "VIDEOGATE_PROVIDER_POLL_SECONDS": "0.2",
                "VIDEOGATE_OUTBOUND_ALLOW_HOSTS": "127.0.0.1", "KLING_ACCESS_KEY": "ak-test", "KLING_SECRET_KEY": "sk-test",
                "VIDEOGATE_KLING_BASE_URL": fake.origin,
            ])
            let (accountID, key) = try await VideogateBinary.liveAccount(name: "live", credits: 10000, environment: environment)

            var server = try await ServerProcess(environment: environment)
            defer { server.stop() }
            try await withHTTP { http in
                let reply = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"a red fox","model":"kling-v2.6-pro"}"#)
                try #require(reply.status == 200, "\(reply.text)")
                let id = try #require(reply.json["request_id"] as? String)

                // Wait until Kling has the task and is being polled, then kill the process.
                let deadline = ContinuousClock.now + .seconds(30)
                while fake.tasks.first.map({ $0.polls < 2 }) ?? true, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                try #require(fake.tasks.count == 1, "Kling never got the task:\n\(server.logTail)")
                server.signal(SIGKILL)
                #expect(try await server.waitForExit(timeout: .seconds(10)))
                server.stop()

                fake.runningPolls(0)
                server = try await ServerProcess(environment: environment)
                let job = try await http.waitForFinal(server.baseURL, id: id, key: key, timeout: .seconds(60))
                #expect(job["status"] as? String == "completed", "\(job)\n\(server.logTail)")
                #expect(job["credits_used"] as? Int == 5500)
                let video = try await http.send(.GET, try #require(job["video_url"] as? String))
                #expect(video.body == fake.video)

                #expect(fake.tasks.count == 1)
                #expect(fake.requests(to: "/v1/videos/text2video", method: "POST").count == 1)
                #expect(fake.violations.isEmpty, "\(fake.violations)")
                let ledger = try await http.send(.GET, "\(server.baseURL)/admin/accounts/\(accountID)/ledger?limit=100", bearer: admin)
                let kinds = (ledger.json["data"] as? [[String: Any]] ?? []).filter { $0["job_id"] as? String == id }.compactMap { $0["kind"] as? String }
                #expect(kinds.sorted() == ["capture", "hold"], "\(ledger.text)")
            }
        }
    }
}
