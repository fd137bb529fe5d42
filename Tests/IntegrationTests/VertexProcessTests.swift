import AsyncHTTPClient
import Foundation
import ProviderFakes
import Testing

/// The real binary with a Veo credential on the route vertex (a service-account key file and a
/// providers file) against the fake Vertex AI and token endpoint on 127.0.0.1.
@Suite("The videogate binary on Vertex AI", .serialized)
struct VertexProcessTests {
    @Test func aLiveVeoJobOnAVertexCredentialCompletesWithAPlayableVideo() async throws {
        let vertex = try FakeVertex()
        let fake = FakeUpstream(video: try FakeVideo.mp4())
        try await fake.run(routes: vertex.routes) { fake in
            let data = DataDirectory()
            defer { data.remove() }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vertex-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let keyFile = directory.appendingPathComponent("sa.json")
            try vertex.serviceAccountJSON(tokenURI: fake.origin + "/token").write(to: keyFile)
            let providers: [String: Any] = [
                "credentials": [
                    [
                        "name": "veo-vertex", "provider": "veo", "route": "vertex", "service_account_file": keyFile.path,
                        "project": vertex.project, "location": vertex.location, "base_url": fake.origin + "/v1",
                    ]
                ]
            ]
            let providersFile = directory.appendingPathComponent("providers.json")
            try JSONSerialization.data(withJSONObject: providers).write(to: providersFile)

            let environment = ServerLifecycleTests.environment(
                data,
                [
                    "VIDEOGATE_ADMIN_TOKEN": "integration-admin-token", "VIDEOGATE_PROVIDER_POLL_SECONDS": "0.2",
                    "VIDEOGATE_OUTBOUND_ALLOW_HOSTS": "127.0.0.1,localhost", "VIDEOGATE_PROVIDERS_FILE": providersFile.path,
                ])
            let (_, key) = try await VideogateBinary.liveAccount(name: "vertex", credits: 10000, environment: environment)

            let server = try await ServerProcess(environment: environment)
            defer { server.stop() }
            try await withHTTP { http in
                let reply = try await http.send(
                    .POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"a red fox","model":"veo3.1","duration":8}"#)
                try #require(reply.status == 200, "\(reply.text)")
                let id = try #require(reply.json["request_id"] as? String)
                let job = try await http.waitForFinal(server.baseURL, id: id, key: key, timeout: .seconds(60))
                #expect(job["status"] as? String == "completed", "\(job)\n\(server.logTail)")
                let video = try await http.send(.GET, try #require(job["video_url"] as? String))
                #expect(video.body == fake.video)

                let creates = fake.requests(to: "/v1/projects/", method: "POST").filter { $0.path.hasSuffix(":predictLongRunning") }
                #expect(creates.count == 1)
                #expect(creates.first?.path.contains("/models/veo-3.1-generate-001:") == true)
                #expect(fake.requests(to: "/v1/projects/").allSatisfy { $0.headers["authorization"]?.hasPrefix("Bearer ya29.fake-") == true })
                #expect(vertex.grants == 1)
                #expect(fake.violations.isEmpty, "\(fake.violations)")
            }
        }
    }
}
