import AsyncHTTPClient
import Foundation
import Testing

/// The real binary, as a new user and an operator run it: separate processes, a temporary data
/// directory each, HTTP on 127.0.0.1. Serialized: the processes render videos, and two cores are
/// enough for one test at a time.
@Suite("The videogate binary", .serialized)
struct ServerLifecycleTests {
    /// Small, fast sandbox renders and no poll throttle (tests poll often).
    static let fastRenders = ["VIDEOGATE_SANDBOX_SHORT_SIDE": "144", "VIDEOGATE_POLL_INTERVAL_SECONDS": "0", "VIDEOGATE_LOG_LEVEL": "warning"]

    static func environment(_ data: DataDirectory, _ settings: [String: String] = [:]) -> [String: String] {
        var environment = fastRenders
        environment["VIDEOGATE_DATA_DIR"] = data.path
        environment.merge(settings) { _, new in new }
        return environment
    }

    @Test func walkthroughAsANewUserWouldTryIt() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        // Default render size (720p), as a new user gets it.
        let server = try await ServerProcess(environment: [
            "VIDEOGATE_DATA_DIR": data.path, "VIDEOGATE_SANDBOX_DELAY_MS": "300", "VIDEOGATE_POLL_INTERVAL_SECONDS": "0",
        ])
        defer { server.stop() }
        let key = try #require(server.printed(after: "Test key (shown once): "), "no test key printed:\n\(server.log)")
        #expect(key.hasPrefix("vg_test_"))
        let adminToken = server.printed(after: "Admin token (generated, kept in \(data.path)/admin_token): ")
        #expect(adminToken?.isEmpty == false, "no admin token printed:\n\(server.log)")

        try await withHTTP { http in
            let submitted = try await http.send(
                .POST, "\(server.baseURL)/v1/video", bearer: key,
                json: #"{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}"#)
            #expect(submitted.status == 200, "\(submitted.text)")
            #expect(submitted.json["status"] as? String == "pending")
            #expect(submitted.json["aspect_ratio"] as? String == "9:16")
            #expect(submitted.json["duration"] as? Int == 5)
            let id = try #require(submitted.json["request_id"] as? String, "\(submitted.text)")
            #expect(id.hasPrefix("req_"))

            let job = try await http.waitForFinal(server.baseURL, id: id, key: key)
            try #require(job["status"] as? String == "completed", "\(job)\n\(server.logTail)")
            #expect(job["credits_used"] as? Int == 1500)

            // The link works without any header.
            let video = try await http.send(.GET, try #require(job["video_url"] as? String))
            #expect(video.status == 200)
            #expect(video.headers.first(name: "Content-Type") == "video/mp4")
            let file = data.url.appendingPathComponent("fox.mp4")
            try video.body.write(to: file)
            let probe = try await VideoProbe(file)
            #expect(probe.codec == "h264")
            #expect(probe.height > probe.width, "portrait expected: \(probe.width)x\(probe.height)")
            #expect(abs(probe.duration - 5) <= 0.2, "duration \(probe.duration)")

            let thumbnail = try await http.send(.GET, try #require(job["thumbnail_url"] as? String))
            #expect(thumbnail.status == 200)
            #expect(thumbnail.headers.first(name: "Content-Type") == "image/jpeg")
            #expect(thumbnail.body.starts(with: [0xFF, 0xD8, 0xFF]))
        }
    }

    @Test func sigkillMidJobLosesNothingAndChargesOnce() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let admin = "integration-admin-token"
        let environment = Self.environment(data, [
            "VIDEOGATE_JOB_LEASE_SECONDS": "2", "VIDEOGATE_SANDBOX_DELAY_MS": "1500", "VIDEOGATE_ADMIN_TOKEN": admin,
        ])
        // The admin commands work on the database before any server ran...
        let account = try await VideogateBinary.json(["accounts", "create", "--name", "crash", "--plan", "pro"], environment: environment)
        let accountID = try #require(account["id"] as? String)
        let created = try await VideogateBinary.json(["keys", "create", "--account", accountID, "--environment", "test"], environment: environment)
        let key = try #require(created["key"] as? String)

        var server = try await ServerProcess(environment: environment)
        defer { server.stop() }
        // ...and while one runs.
        _ = try await VideogateBinary.json(
            ["credits", "add", "--account", accountID, "--amount", "100000", "--environment", "test"], environment: environment)

        try await withHTTP { http in
            var ids: [String] = []
            var charged = 0
            for index in 0..<12 {
                let reply = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"crash \#(index)","model":"sora-2"}"#)
                try #require(reply.status == 200, "submission \(index): \(reply.status) \(reply.text)")
                ids.append(try #require(reply.json["request_id"] as? String))
                charged += try #require(reply.json["credits_reserved"] as? Int)
            }
            #expect(charged == 12 * 3500)

            // Kill the process without warning while jobs are with the (sandbox) provider.
            let deadline = ContinuousClock.now + .seconds(90)
            var processing = 0
            while processing == 0 && ContinuousClock.now < deadline {
                let list = try await http.send(.GET, "\(server.baseURL)/v1/video?status=processing&limit=100", bearer: key).json
                processing = (list["data"] as? [Any])?.count ?? 0
                if processing == 0 { try await Task.sleep(for: .milliseconds(50)) }
            }
            try #require(processing > 0, "no job reached processing:\n\(server.logTail)")
            server.signal(SIGKILL)
            #expect(try await server.waitForExit(timeout: .seconds(10)))
            #expect(server.process.terminationReason == .uncaughtSignal)
            server.stop()

            server = try await ServerProcess(environment: environment)
            for id in ids {
                let job = try await http.waitForFinal(server.baseURL, id: id, key: key, timeout: .seconds(90))
                #expect(job["status"] as? String == "completed", "job \(id): \(job)\n\(server.logTail)")
                #expect(job["credits_used"] as? Int == 3500, "job \(id): \(job)")
                let url = try #require(job["video_url"] as? String, "job \(id): \(job)")
                let video = try await http.send(.GET, url)
                #expect(video.status == 200 && video.headers.first(name: "Content-Type") == "video/mp4", "\(id): \(video.status)")
                // An MP4 starts with its `ftyp` box.
                #expect(video.body.count > 1000 && video.body.dropFirst(4).starts(with: Array("ftyp".utf8)), "\(id): \(video.body.count) bytes")
            }

            let ledger = try await http.send(.GET, "\(server.baseURL)/admin/accounts/\(accountID)/ledger?limit=100", bearer: admin)
            #expect(ledger.status == 200, "\(ledger.text)")
            let entries = try #require(ledger.json["data"] as? [[String: Any]], "\(ledger.text)")
            #expect(ledger.json["has_more"] as? Bool == false)
            #expect(!entries.contains { $0["kind"] as? String == "release" }, "releases: \(entries)")
            for id in ids {
                let kinds = entries.filter { $0["job_id"] as? String == id }.compactMap { $0["kind"] as? String }.sorted()
                #expect(kinds == ["capture", "hold"], "ledger of \(id): \(kinds)")
            }
            #expect(entries.count == 1 + 2 * ids.count, "one grant and a hold and a capture per job: \(entries.count) entries")

            let fetched = try await http.send(.GET, "\(server.baseURL)/admin/accounts/\(accountID)", bearer: admin)
            #expect(fetched.status == 200, "\(fetched.text)")
            let balances = (fetched.json["account"] as? [String: Any])?["balances"] as? [String: Any]
            let test = try #require(balances?["test"] as? [String: Any], "\(fetched.text)")
            #expect(test["held"] as? Int == 0)
            #expect(test["available"] as? Int == 100_000 - charged)
        }
    }

    @Test func splitApiAndWorkerProcessesShareOneDatabase() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let environment = Self.environment(data, ["VIDEOGATE_SANDBOX_DELAY_MS": "100"])
        // The api process starts first: it creates the schema and the demo account.
        let api = try await ServerProcess(environment: environment, role: "api")
        defer { api.stop() }
        let worker = try await ServerProcess(environment: environment, role: "worker")
        defer { worker.stop() }
        let key = try #require(api.printed(after: "Test key (shown once): "), "no test key printed:\n\(api.log)")

        try await withHTTP { http in
            let reply = try await http.send(.POST, "\(api.baseURL)/v1/video", bearer: key, json: #"{"prompt":"split","model":"sora-2"}"#)
            let id = try #require(reply.json["request_id"] as? String, "\(reply.status) \(reply.text)")
            let job = try await http.waitForFinal(api.baseURL, id: id, key: key, timeout: .seconds(60))
            #expect(job["status"] as? String == "completed", "\(job)\napi:\n\(api.logTail)\nworker:\n\(worker.logTail)")

            // The worker finished it: only its metrics count a finished job.
            #expect(try await http.send(.GET, "\(worker.baseURL)/healthz").status == 200)
            #expect(try await http.send(.GET, "\(worker.baseURL)/readyz").status == 200)
            let workerMetrics = try await http.send(.GET, "\(worker.baseURL)/metrics")
            #expect(workerMetrics.status == 200)
            #expect(workerMetrics.text.contains("videogate_jobs_finished_total"), "\(workerMetrics.text)")
            #expect(!(try await http.send(.GET, "\(api.baseURL)/metrics").text.contains("videogate_jobs_finished_total")))

            let poll = try await http.send(.GET, "\(worker.baseURL)/v1/video/\(id)", bearer: key)
            #expect(poll.status == 404 && poll.json["error"] as? String == "not_found", "\(poll.status) \(poll.text)")
            let submit = try await http.send(.POST, "\(worker.baseURL)/v1/video", bearer: key, json: #"{"prompt":"no","model":"sora-2"}"#)
            #expect(submit.status == 404, "\(submit.status) \(submit.text)")
        }
    }

    @Test func sigtermShutsDownGracefully() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(environment: Self.environment(data))
        defer { server.stop() }
        try await withHTTP { http in
            let health = try await http.send(.GET, "\(server.baseURL)/healthz")
            #expect(health.status == 200)
        }
        let started = ContinuousClock.now
        server.signal(SIGTERM)
        let exited = try await server.waitForExit(timeout: .seconds(20))
        try #require(exited, "still running 20 s after SIGTERM:\n\(server.logTail)")
        #expect(server.process.terminationReason == .exit, "\(server.logTail)")
        #expect(server.process.terminationStatus == 0, "\(server.logTail)")
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func adminCommandsActOnARunningServer() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let environment = Self.environment(data)
        let server = try await ServerProcess(environment: environment, role: "api")
        defer { server.stop() }

        let account = try await VideogateBinary.json(
            ["accounts", "create", "--name", "cli", "--plan", "enterprise", "--daily-limit", "5000"], environment: environment)
        let accountID = try #require(account["id"] as? String)
        #expect(accountID.hasPrefix("acct_"))
        #expect(account["name"] as? String == "cli")
        #expect(account["plan"] as? String == "enterprise")
        #expect(account["daily_limit"] as? Int == 5000)
        #expect((account["webhook_secret"] as? String)?.hasPrefix("whsec_") == true)
        #expect(account["created_at"] is String)

        let created = try await VideogateBinary.json(["keys", "create", "--account", accountID], environment: environment)
        let key = try #require(created["key"] as? String)
        let keyID = try #require(created["key_id"] as? String)
        #expect(key.hasPrefix("vg_test_"))
        #expect(keyID.hasPrefix("key_"))
        #expect(created["environment"] as? String == "test")
        #expect(created["account_id"] as? String == accountID)

        let credits = try await VideogateBinary.json(["credits", "add", "--account", accountID, "--amount", "2000"], environment: environment)
        #expect(credits["account_id"] as? String == accountID)
        let test = (credits["balances"] as? [String: Any])?["test"] as? [String: Any]
        #expect(test?["available"] as? Int == 2000)
        #expect(test?["held"] as? Int == 0)

        try await withHTTP { http in
            let before = try await http.send(.GET, "\(server.baseURL)/v1/account", bearer: key)
            #expect(before.status == 200, "\(before.text)")

            let revoked = try await VideogateBinary.json(["keys", "revoke", keyID], environment: environment)
            #expect(revoked["key_id"] as? String == keyID)
            #expect(revoked["revoked"] as? Bool == true)
            let after = try await http.send(.GET, "\(server.baseURL)/v1/account", bearer: key)
            #expect(after.status == 401 && after.json["error"] as? String == "invalid_api_key", "\(after.status) \(after.text)")
            let submit = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"x","model":"sora-2"}"#)
            #expect(submit.status == 401 && submit.json["error"] as? String == "invalid_api_key", "\(submit.status) \(submit.text)")
        }

        let invalid: [[String]] = [
            ["accounts", "create", "--name", "x", "--plan", "gold"],
            ["keys", "create", "--account", accountID, "--environment", "prod"],
            ["keys", "create", "--account", "acct_missing"],
            ["credits", "add", "--account", "acct_missing", "--amount", "5"],
            ["credits", "add", "--account", accountID, "--amount", "lots"],
            ["keys", "revoke", "key_missing"],
        ]
        for arguments in invalid {
            let (status, output) = try await VideogateBinary.run(arguments + ["--json"], environment: environment)
            #expect(status != 0, "videogate \(arguments.joined(separator: " ")) exited 0: \(output)")
        }
    }
}
