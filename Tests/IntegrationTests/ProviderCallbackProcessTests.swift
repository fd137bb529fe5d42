import AsyncHTTPClient
import Foundation
import ProviderFakes
import Testing

/// The real binary with callbacks on, a poll a minute, and a fake Kling that calls back when its
/// task finishes: the job completes within seconds, long before the next scheduled poll.
@Suite("The videogate binary with provider callbacks", .serialized)
struct ProviderCallbackProcessTests {
    @Test func klingsCallbackCompletesTheJobBeforeTheNextPoll() async throws {
        let fake = FakeUpstream(video: try FakeVideo.mp4())
        try await fake.run(routes: FakeKling().routes) { fake in
            fake.finish(after: .seconds(1))
            fake.sendCallbacks()
            let data = DataDirectory()
            defer { data.remove() }
            let environment = ServerLifecycleTests.environment(data, [
                "VIDEOGATE_ADMIN_TOKEN": "integration-admin-token", "VIDEOGATE_PROVIDER_POLL_SECONDS": "60",
                "VIDEOGATE_PROVIDER_CALLBACKS": "on", "VIDEOGATE_OUTBOUND_ALLOW_HOSTS": "127.0.0.1",
                "KLING_ACCESS_KEY": "ak-test", "KLING_SECRET_KEY": "sk-test", "VIDEOGATE_KLING_BASE_URL": fake.origin,
            ])
            let (_, key) = try await VideogateBinary.liveAccount(name: "live", credits: 10000, environment: environment)

            let server = try await ServerProcess(environment: environment)
            defer { server.stop() }
            try await withHTTP { http in
                let start = ContinuousClock.now
                let reply = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"a red fox","model":"kling-v2.6-pro"}"#)
                try #require(reply.status == 200, "\(reply.text)")
                let id = try #require(reply.json["request_id"] as? String)
                let job = try await http.waitForFinal(server.baseURL, id: id, key: key, timeout: .seconds(20))
                let elapsed = ContinuousClock.now - start
                #expect(job["status"] as? String == "completed", "\(job)\n\(server.logTail)")
                // The first scheduled poll would be a minute after the create.
                #expect(elapsed < .seconds(15), "took \(elapsed)")
                let create = try #require(fake.requests(to: "/v1/videos/text2video", method: "POST").first?.json)
                let callbackURL = try #require(create["callback_url"] as? String)
                #expect(callbackURL.hasPrefix("\(server.baseURL)/callbacks/kling/\(id)."))
                let task = try #require(fake.tasks.first)
                #expect(fake.callbackAnswers[task.id] == [200])
                #expect(task.polls == 1, "one poll, the one the callback asked for")
                #expect(fake.violations.isEmpty, "\(fake.violations)")
            }
        }
    }
}
