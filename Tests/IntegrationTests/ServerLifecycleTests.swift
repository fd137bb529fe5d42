import AsyncHTTPClient
import Foundation
import Testing

/// The real binary, as a new user and an operator would run it. Serialized: each test starts
/// processes that render videos, and two cores are enough for one at a time.
@Suite("The videogate binary", .serialized)
struct ServerLifecycleTests {
    static let fastRenders = ["VIDEOGATE_SANDBOX_SHORT_SIDE": "144", "VIDEOGATE_POLL_INTERVAL_SECONDS": "0", "VIDEOGATE_LOG_LEVEL": "warning"]

    @Test func walkthroughAsANewUserWouldTryIt() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(environment: ["VIDEOGATE_DATA_DIR": data.path, "VIDEOGATE_SANDBOX_DELAY_MS": "300", "VIDEOGATE_POLL_INTERVAL_SECONDS": "0"])
        defer { server.stop() }
        let key = try #require(server.printed(after: "Test key (shown once): "))
        #expect(key.hasPrefix("vg_test_"))
        #expect(server.printed(after: "Admin token (generated, kept in ") != nil)
        let http = TestHTTP(client: .shared)

        let submitted = try await http.send(
            .POST, "\(server.baseURL)/v1/video", bearer: key,
            json: #"{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}"#)
        #expect(submitted.status == 200)
        let id = try #require(submitted.json["request_id"] as? String)
        let job = try await http.waitForFinal(server.baseURL, id: id, key: key)
        #expect(job["status"] as? String == "completed")

        let video = try await http.send(.GET, try #require(job["video_url"] as? String))
        #expect(video.status == 200)
        #expect(video.headers.first(name: "Content-Type") == "video/mp4")
        let file = data.url.appendingPathComponent("fox.mp4")
        try video.body.write(to: file)
        let info = try probe(file)
        #expect(info.codec == "h264")
        #expect(info.height > info.width)
        #expect(abs(info.duration - 5) < 0.2)

        let thumbnail = try await http.send(.GET, try #require(job["thumbnail_url"] as? String))
        #expect(thumbnail.status == 200 && thumbnail.body.starts(with: [0xFF, 0xD8, 0xFF]))
    }

    @Test func sigkillMidJobLosesNothingAndChargesOnce() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        var environment = Self.fastRenders
        environment.merge([
            "VIDEOGATE_DATA_DIR": data.path, "VIDEOGATE_JOB_LEASE_SECONDS": "2", "VIDEOGATE_SANDBOX_DELAY_MS": "1500",
            "VIDEOGATE_ADMIN_TOKEN": "it-admin",
        ]) { _, new in new }
        let account = try await Binary.json(["accounts", "create", "--name", "crash", "--plan", "pro"], environment: environment)
        let accountID = try #require(account["id"] as? String)
        let key = try #require(try await Binary.json(["keys", "create", "--account", accountID, "--environment", "test"], environment: environment)["key"] as? String)
        _ = try await Binary.json(["credits", "add", "--account", accountID, "--amount", "100000", "--environment", "test"], environment: environment)

        let http = TestHTTP(client: .shared)
        var server = try await ServerProcess(environment: environment)
        var ids: [String] = []
        for index in 0..<12 {
            let reply = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"crash \#(index)","model":"sora-2"}"#)
            ids.append(try #require(reply.json["request_id"] as? String))
        }
        // Wait until jobs are with the "provider", then kill the process without warning.
        let deadline = ContinuousClock.now + .seconds(30)
        var processing = 0
        while processing == 0 && ContinuousClock.now < deadline {
            let list = try await http.send(.GET, "\(server.baseURL)/v1/video?status=processing&limit=100", bearer: key).json
            processing = (list["data"] as? [Any])?.count ?? 0
            if processing == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(processing > 0)
        server.signal(SIGKILL)
        #expect(try await server.waitForExit(timeout: .seconds(10)))
        server.stop()

        server = try await ServerProcess(environment: environment)
        defer { server.stop() }
        for id in ids {
            let job = try await http.waitForFinal(server.baseURL, id: id, key: key)
            #expect(job["status"] as? String == "completed", "job \(id): \(job)")
            let video = try await http.send(.GET, "\(server.baseURL)/v1/video/\(id)/content", bearer: key)
            #expect(video.status == 200 && video.body.count > 1000)
        }
        let ledger = try await http.send(.GET, "\(server.baseURL)/admin/accounts/\(accountID)/ledger?limit=100", bearer: "it-admin").json
        let entries = ledger["data"] as? [[String: Any]] ?? []
        for id in ids {
            let kinds = entries.filter { $0["job_id"] as? String == id }.compactMap { $0["kind"] as? String }.sorted()
            #expect(kinds == ["capture", "hold"], "ledger of \(id): \(kinds)")
        }
        let fetched = try await http.send(.GET, "\(server.baseURL)/admin/accounts/\(accountID)", bearer: "it-admin").json
        let test = ((fetched["account"] as? [String: Any])?["balances"] as? [String: Any])?["test"] as? [String: Any]
        #expect(test?["held"] as? Int == 0)
        #expect(test?["available"] as? Int == 100_000 - 12 * 3500)
    }

    @Test func splitApiAndWorkerProcessesShareOneDatabase() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        var environment = Self.fastRenders
        environment["VIDEOGATE_DATA_DIR"] = data.path
        environment["VIDEOGATE_SANDBOX_DELAY_MS"] = "100"
        let api = try await ServerProcess(environment: environment, role: "api")
        defer { api.stop() }
        let worker = try await ServerProcess(environment: environment, role: "worker")
        defer { worker.stop() }
        let key = try #require(api.printed(after: "Test key (shown once): "))
        let http = TestHTTP(client: .shared)
        let reply = try await http.send(.POST, "\(api.baseURL)/v1/video", bearer: key, json: #"{"prompt":"split","model":"sora-2"}"#)
        let id = try #require(reply.json["request_id"] as? String)
        let job = try await http.waitForFinal(api.baseURL, id: id, key: key)
        #expect(job["status"] as? String == "completed")
        #expect(try await http.send(.GET, "\(worker.baseURL)/healthz").status == 200)
        #expect(try await http.send(.GET, "\(worker.baseURL)/readyz").status == 200)
        #expect(String(decoding: try await http.send(.GET, "\(worker.baseURL)/metrics").body, as: UTF8.self).contains("videogate_jobs_finished_total"))
        #expect(try await http.send(.GET, "\(worker.baseURL)/v1/video/\(id)", bearer: key).status == 404)
    }

    @Test func sigtermShutsDownGracefully() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(environment: ["VIDEOGATE_DATA_DIR": data.path])
        defer { server.stop() }
        server.signal(SIGTERM)
        #expect(try await server.waitForExit(timeout: .seconds(20)))
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
    }

    @Test func cliAdminCommandsActOnARunningServer() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let environment = ["VIDEOGATE_DATA_DIR": data.path]
        let server = try await ServerProcess(environment: environment, role: "api")
        defer { server.stop() }
        let http = TestHTTP(client: .shared)

        let account = try await Binary.json(["accounts", "create", "--name", "cli", "--plan", "enterprise", "--daily-limit", "5000"], environment: environment)
        #expect(account["daily_limit"] as? Int == 5000)
        #expect((account["webhook_secret"] as? String)?.hasPrefix("whsec_") == true)
        let accountID = try #require(account["id"] as? String)
        let created = try await Binary.json(["keys", "create", "--account", accountID], environment: environment)
        let key = try #require(created["key"] as? String)
        let keyID = try #require(created["key_id"] as? String)
        #expect(created["environment"] as? String == "test")
        let credits = try await Binary.json(["credits", "add", "--account", accountID, "--amount", "2000"], environment: environment)
        #expect(((credits["balances"] as? [String: Any])?["test"] as? [String: Any])?["available"] as? Int == 2000)

        let account200 = try await http.send(.GET, "\(server.baseURL)/v1/account", bearer: key)
        #expect(account200.status == 200)
        let revoked = try await Binary.json(["keys", "revoke", keyID], environment: environment)
        #expect(revoked["revoked"] as? Bool == true)
        let refused = try await http.send(.GET, "\(server.baseURL)/v1/account", bearer: key)
        #expect(refused.status == 401 && refused.json["error"] as? String == "invalid_api_key")

        #expect(try await Binary.run(["accounts", "create", "--name", "x", "--plan", "gold"], environment: environment).status != 0)
        #expect(try await Binary.run(["credits", "add", "--account", "acct_missing", "--amount", "5"], environment: environment).status != 0)
        #expect(try await Binary.run(["keys", "revoke", "key_missing"], environment: environment).status != 0)
    }
}
