import AsyncHTTPClient
import Foundation
import NIOCore
import ProviderFakes
import Synchronization
import Testing

/// The production shape: one PostgreSQL database, one S3-compatible bucket (moto), two
/// `--role api` and two `--role worker` processes of the real binary. Needs `scripts/with-services`
/// (scripts/test runs every test under it).
@Suite("Replicas on PostgreSQL and S3", .serialized)
struct ReplicaTests {
    static var s3Endpoint: String? { ReplicaServices.s3Endpoint }

    static let admin = "replica-admin-token"

    /// What every process of the deployment shares; `settings` adds or overrides.
    static func environment(database: String, bucket: String, data: DataDirectory, _ settings: [String: String] = [:]) -> [String: String] {
        var environment = ServerLifecycleTests.fastRenders
        environment.merge([
            "VIDEOGATE_DATA_DIR": data.path,
            "VIDEOGATE_DATABASE_URL": database,
            "VIDEOGATE_DATABASE_POOL_SIZE": "8",
            "VIDEOGATE_STORAGE_URL": "s3://\(bucket)/results",
            "VIDEOGATE_S3_ENDPOINT": s3Endpoint ?? "",
            "VIDEOGATE_S3_PATH_STYLE": "true",
            "AWS_ACCESS_KEY_ID": "replica-test",
            "AWS_SECRET_ACCESS_KEY": "replica-test-secret",
            "AWS_REGION": "us-east-1",
            "VIDEOGATE_ADMIN_TOKEN": admin,
            "VIDEOGATE_SIGNING_SECRET": "replica-signing-secret",
            "VIDEOGATE_JOB_LEASE_SECONDS": "3",
            "VIDEOGATE_SANDBOX_DELAY_MS": "300",
            "VIDEOGATE_WORKER_CONCURRENCY": "6",
            // Every test job here is a sandbox render: as many at once as before the lane had its own slots.
            "VIDEOGATE_SANDBOX_CONCURRENCY": "6",
        ]) { _, new in new }
        environment.merge(settings) { _, new in new }
        return environment
    }

    /// A fresh database and bucket for one test's processes, each with a data directory of its own.
    struct Deployment {
        let http: TestHTTP
        let database: String
        let bucket: String
        let data: [DataDirectory]

        /// The environment of process `index`.
        func environment(_ index: Int, _ settings: [String: String] = [:]) -> [String: String] {
            ReplicaTests.environment(database: database, bucket: bucket, data: data[index], settings)
        }
    }

    /// Runs `body` with a new deployment, and drops its database and data directories afterwards.
    static func withDeployment(processes: Int, _ body: (Deployment) async throws -> Void) async throws {
        let database = try await TestPostgres.createDatabase()
        let data = (0..<processes).map { _ in DataDirectory() }
        let result: Result<Void, any Error>
        do {
            result = .success(
                try await withHTTP { http in
                    try await body(Deployment(http: http, database: database.url, bucket: try await makeBucket(http), data: data))
                })
        } catch {
            result = .failure(error)
        }
        data.forEach { $0.remove() }
        await database.drop()
        try result.get()
    }

    /// A bucket made on the S3 server (moto takes an unsigned PUT).
    static func makeBucket(_ http: TestHTTP) async throws -> String {
        let bucket = "vg-replica-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try await http.send(.PUT, "\(s3Endpoint ?? "")/\(bucket)")
        try #require(created.status == 200, "creating bucket \(bucket): \(created.status) \(created.text)")
        return bucket
    }

    @Test func servicesArePresentWhenRequired() {
        if TestPostgres.required {
            #expect(TestPostgres.adminURL != nil, "VIDEOGATE_TEST_POSTGRES_URL is missing (run through scripts/with-services)")
            #expect(Self.s3Endpoint != nil, "VIDEOGATE_TEST_S3_ENDPOINT is missing (run through scripts/with-services)")
        }
    }

    @Test(.enabled(if: ReplicaServices.available)) func fiveHundredJobsOverTwoAPIsAndTwoWorkersOneKilled() async throws {
        try await Self.withDeployment(processes: 4) { deployment in
            let http = deployment.http
            let bucket = deployment.bucket
            // Both API processes start at once against the empty database: migrations take the lock.
            async let startA = ServerProcess(environment: deployment.environment(0), role: "api")
            async let startB = ServerProcess(environment: deployment.environment(1), role: "api")
            let apis = try await [startA, startB]
            defer { apis.forEach { $0.stop() } }
            let workers = [
                try await ServerProcess(environment: deployment.environment(2), role: "worker"),
                try await ServerProcess(environment: deployment.environment(3), role: "worker"),
            ]
            defer { workers.forEach { $0.stop() } }
            let bases = apis.map(\.baseURL)
            func logs() -> String {
                zip(["api A", "api B", "worker 1", "worker 2"], apis + workers).map { "\($0):\n\($1.logTail)" }.joined(separator: "\n")
            }

            // Four funded accounts, a free one (daily limit 100), and one with credits for exactly 10 jobs.
            var funded: [Client] = []
            for index in 0..<4 {
                funded.append(try await Client.make(http, base: bases[index % 2], plan: "pro", credits: 1_000_000, dailyLimit: nil))
            }
            let free = try await Client.make(http, base: bases[1], plan: "free", credits: 1_000_000, dailyLimit: nil)
            let tight = try await Client.make(http, base: bases[0], plan: "pro", credits: 0, dailyLimit: nil)

            // The tight account: credits for 10 jobs at the model's price, 20 submissions at once over both APIs.
            let probe = try await http.send(.GET, "\(bases[0])/v1/models", bearer: tight.key)
            let models = probe.json["data"] as? [[String: Any]] ?? []
            let unit = try #require(models.first { $0["id"] as? String == "sora-2" }?["credits"] as? Int, "no price for sora-2 in \(probe.text)")
            try await tight.grant(http, base: bases[0], amount: unit * 10)

            let clients = funded + [free, tight]
            // 500 jobs: 390 from the funded accounts, 100 of 105 submissions of the free one (limit 100),
            // 10 of 20 of the tight one (credits for 10).
            var plan: [(client: Int, api: Int)] = []
            for n in 0..<390 { plan.append((n % 4, n % 2)) }
            for n in 0..<105 { plan.append((4, n % 2)) }
            for n in 0..<20 { plan.append((5, n % 2)) }
            plan.shuffle()

            // Submit 16 at a time; worker 1 is killed (SIGKILL) once 200 submissions are in.
            var jobs: [(client: Int, id: String)] = []
            var answered: [String: [Int]] = [:]  // account name → statuses answered
            var inFlightAtKill: [String]?
            try await withThrowingTaskGroup(of: (client: Int, status: Int, id: String?).self) { group in
                var next = 0
                func add(_ item: (client: Int, api: Int)) {
                    let key = clients[item.client].key
                    let base = bases[item.api]
                    group.addTask {
                        let reply = try await http.send(
                            .POST, "\(base)/v1/video", bearer: key, json: #"{"prompt":"replica \#(item.client)","model":"sora-2","duration":4}"#)
                        return (item.client, reply.status, reply.status == 200 ? reply.json["request_id"] as? String : nil)
                    }
                }
                while next < min(16, plan.count) { add(plan[next]); next += 1 }
                while let result = try await group.next() {
                    answered[clients[result.client].name, default: []].append(result.status)
                    if let id = result.id { jobs.append((result.client, id)) }
                    if next < plan.count { add(plan[next]); next += 1 }
                    if next == 200 && inFlightAtKill == nil {
                        // Killed in the middle of a step: as soon as it holds a lease (its owner id carries its pid).
                        let marker = "-\(workers[0].pid)-"
                        var held: [String] = []
                        let watch = ContinuousClock.now + .seconds(30)
                        while held.isEmpty && ContinuousClock.now < watch {
                            held = try await Self.jobs(http, base: bases[0], status: "processing").filter {
                                ($0["lease_owner"] as? String)?.contains(marker) == true
                            }.compactMap { $0["id"] as? String }
                            if held.isEmpty {
                                held = try await Self.jobs(http, base: bases[0], status: "pending").filter {
                                    ($0["lease_owner"] as? String)?.contains(marker) == true
                                }.compactMap { $0["id"] as? String }
                            }
                        }
                        workers[0].signal(SIGKILL)
                        inFlightAtKill = held
                    }
                }
            }
            let inFlight = inFlightAtKill ?? []
            #expect(!inFlight.isEmpty, "worker 1 held no lease when it was killed")
            #expect(try await workers[0].waitForExit(timeout: .seconds(10)))

            // The daily limit held across both APIs: exactly 100 accepted, the rest 429.
            #expect(answered[free.name]?.filter { $0 == 200 }.count == 100, "\(answered[free.name] ?? [])")
            #expect(answered[free.name]?.filter { $0 == 429 }.count == 5, "\(answered[free.name] ?? [])")
            // Credits for 10: exactly 10 accepted, 10 refused with 402.
            #expect(answered[tight.name]?.filter { $0 == 200 }.count == 10, "\(answered[tight.name] ?? [])")
            #expect(answered[tight.name]?.filter { $0 == 402 }.count == 10, "\(answered[tight.name] ?? [])")
            for client in funded { #expect(answered[client.name]?.allSatisfy { $0 == 200 } == true, "\(answered[client.name] ?? [])") }
            #expect(jobs.count == 500)

            // Every job completes; the ones worker 1 held are finished by worker 2 once their leases ran out.
            let deadline = ContinuousClock.now + .seconds(600)
            var pending = Set(jobs.map(\.id))
            while !pending.isEmpty && ContinuousClock.now < deadline {
                let completed = Set(try await Self.jobIDs(http, base: bases[1], status: "completed"))
                let failed = try await Self.jobIDs(http, base: bases[1], status: "error")
                #expect(failed.isEmpty, "failed jobs: \(failed)\n\(logs())")
                if !failed.isEmpty { break }
                pending.subtract(completed)
                if !pending.isEmpty { try await Task.sleep(for: .seconds(1)) }
            }
            try #require(pending.isEmpty, "\(pending.count) jobs unfinished after 600 s\n\(logs())")
            #expect(Set(inFlight).isSubset(of: Set(jobs.map(\.id))))

            // Each job's view through either API: completed, its credits used once, a presigned URL of the bucket.
            for (index, job) in jobs.enumerated() where index % 25 == 0 {
                let view = try await http.send(.GET, "\(bases[index % 2])/v1/video/\(job.id)", bearer: clients[job.client].key).json
                #expect(view["status"] as? String == "completed")
                let url = try #require(view["video_url"] as? String)
                #expect(url.contains("/\(bucket)/results/") && url.contains("X-Amz-Signature="), "\(url)")
                let video = try await http.send(.GET, url)
                #expect(video.status == 200 && video.body.count > 1000, "\(video.status) \(url)")
            }

            // The ledger: every job one hold and one capture, no release; nothing held at the end; no balance below zero.
            for (index, client) in clients.enumerated() {
                let entries = try await client.ledger(http, base: bases[index % 2])
                let mine = Set(jobs.filter { $0.client == index }.map(\.id))
                var holds: [String: Int] = [:]
                var captures: [String: Int] = [:]
                for entry in entries {
                    let after = entry["balance_after"] as? [String: Any]
                    #expect((after?["available"] as? Int ?? -1) >= 0, "negative balance in \(entry)")
                    guard let job = entry["job_id"] as? String else { continue }
                    switch entry["kind"] as? String {
                    case "hold": holds[job, default: 0] += 1
                    case "capture": captures[job, default: 0] += 1
                    default: Issue.record("unexpected ledger entry \(entry)")
                    }
                }
                #expect(Set(holds.keys) == mine && holds.values.allSatisfy { $0 == 1 }, "holds of \(client.name)")
                #expect(Set(captures.keys) == mine && captures.values.allSatisfy { $0 == 1 }, "captures of \(client.name)")
                let account = try await http.send(.GET, "\(bases[index % 2])/v1/account", bearer: client.key).json
                let balance = try #require(
                    ((account["account"] as? [String: Any])?["balances"] as? [String: Any])?["test"] as? [String: Any], "\(account)")
                #expect(balance["held"] as? Int == 0, "\(account)")
                #expect((balance["available"] as? Int ?? -1) >= 0, "\(account)")
            }

            // SIGTERM drains: both APIs and the surviving worker exit 0 promptly.
            for process in apis + [workers[1]] { process.signal(SIGTERM) }
            for process in apis + [workers[1]] {
                #expect(try await process.waitForExit(timeout: .seconds(30)), "\(process.logTail)")
                #expect(process.process.terminationReason == .exit && process.process.terminationStatus == 0, "\(process.logTail)")
            }
        }
    }

    @Test(.enabled(if: ReplicaServices.available)) func sigtermReleasesLeasesSoAnotherWorkerTakesOverAtOnce() async throws {
        try await Self.withDeployment(processes: 3) { deployment in
            let http = deployment.http
            let api = try await ServerProcess(environment: deployment.environment(0), role: "api")
            defer { api.stop() }
            let client = try await Client.make(http, base: api.baseURL, plan: "pro", credits: 1_000_000, dailyLimit: nil)
            // A slow worker (12 s renders at 2160 pixels, longer than the 10 s a draining step gets) with
            // a 120 s lease: were its leases left behind, no one could take the jobs for two minutes.
            let slow = try await ServerProcess(
                environment: deployment.environment(1, [
                    "VIDEOGATE_JOB_LEASE_SECONDS": "120", "VIDEOGATE_SANDBOX_DELAY_MS": "0", "VIDEOGATE_SANDBOX_SHORT_SIDE": "2160",
                ]), role: "worker")
            defer { slow.stop() }
            var ids: [String] = []
            for n in 0..<4 {
                let reply = try await http.send(
                    .POST, "\(api.baseURL)/v1/video", bearer: client.key, json: #"{"prompt":"drain \#(n)","model":"sora-2","duration":12}"#)
                ids.append(try #require(reply.json["request_id"] as? String, "\(reply.status) \(reply.text)"))
            }
            // Wait until the slow worker holds leases of running render steps.
            let claimDeadline = ContinuousClock.now + .seconds(30)
            var leased: [String] = []
            while leased.count < ids.count && ContinuousClock.now < claimDeadline {
                try await Task.sleep(for: .milliseconds(100))
                leased = try await Self.jobs(http, base: api.baseURL, status: "processing").filter { $0["lease_owner"] is String }.compactMap { $0["id"] as? String }
            }
            try #require(!leased.isEmpty, "the slow worker never held a lease\n\(slow.logTail)")

            let stopping = ContinuousClock.now
            slow.signal(SIGTERM)
            #expect(try await slow.waitForExit(timeout: .seconds(30)), "\(slow.logTail)")
            #expect(slow.process.terminationReason == .exit && slow.process.terminationStatus == 0, "\(slow.logTail)")
            // Drained: every job either finished within the grace period or has no lease any more.
            for job in try await Self.jobs(http, base: api.baseURL, status: nil) where ids.contains(job["id"] as? String ?? "") {
                let status = job["status"] as? String
                #expect(status == "completed" || (status == "processing" && job["lease_owner"] == nil), "\(job)")
            }
            let fast = try await ServerProcess(environment: deployment.environment(2, ["VIDEOGATE_SANDBOX_DELAY_MS": "100"]), role: "worker")
            defer { fast.stop() }
            for id in ids {
                let job = try await http.waitForFinal(api.baseURL, id: id, key: client.key, timeout: .seconds(90))
                #expect(job["status"] as? String == "completed", "\(job)")
            }
            // Well inside the 120 s lease the slow worker had taken.
            #expect(ContinuousClock.now - stopping < .seconds(100))

            // The API drains too: downloads under way when SIGTERM arrives are served to the end
            // (a request may be refused before it starts, none is cut off once answered).
            let started = Counter()
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for n in 0..<40 {
                    let id = ids[n % ids.count]
                    group.addTask {
                        var request = HTTPClientRequest(url: "\(api.baseURL)/v1/video/\(id)/content")
                        request.headers.add(name: "Authorization", value: "Bearer \(client.key)")
                        let response: HTTPClientResponse
                        do { response = try await http.client.execute(request, timeout: .seconds(30)) } catch { return "refused" }
                        started.increment()
                        let expected = response.headers.first(name: "content-length").flatMap(Int.init)
                        let body = try await response.body.collect(upTo: 256 * 1024 * 1024)
                        return response.status == .ok && body.readableBytes == expected ? "complete" : "cut: \(response.status) \(body.readableBytes) of \(expected ?? -1)"
                    }
                }
                while started.value == 0 { try await Task.sleep(for: .milliseconds(5)) }
                api.signal(SIGTERM)
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0 == "complete" || $0 == "refused" }, "\(outcomes)")
            #expect(outcomes.contains("complete"))
            #expect(try await api.waitForExit(timeout: .seconds(30)), "\(api.logTail)")
            #expect(api.process.terminationReason == .exit && api.process.terminationStatus == 0, "\(api.logTail)")
        }
    }

    /// All jobs (of one status when given), through the admin API (every page).
    static func jobs(_ http: TestHTTP, base: String, status: String?) async throws -> [[String: Any]] {
        var jobs: [[String: Any]] = []
        var cursor: String?
        repeat {
            let query = "limit=100" + (status.map { "&status=\($0)" } ?? "") + (cursor.map { "&after=\($0)" } ?? "")
            let page = try await http.send(.GET, "\(base)/admin/jobs?\(query)", bearer: admin)
            try #require(page.status == 200, "\(page.status) \(page.text)")
            jobs += page.json["data"] as? [[String: Any]] ?? []
            cursor = page.json["next_cursor"] as? String
        } while cursor != nil
        return jobs
    }

    /// Ids of all jobs with `status`, through the admin API.
    static func jobIDs(_ http: TestHTTP, base: String, status: String) async throws -> [String] {
        try await jobs(http, base: base, status: status).compactMap { $0["id"] as? String }
    }

    /// An account with one test key, made through the admin API.
    struct Client: Sendable {
        let name: String
        let accountID: String
        let key: String

        static func make(_ http: TestHTTP, base: String, plan: String, credits: Int, dailyLimit: Int?) async throws -> Client {
            let name = "replica-\(UUID().uuidString.prefix(6))"
            let limit = dailyLimit.map { #","daily_limit":\#($0)"# } ?? ""
            let account = try await http.send(.POST, "\(base)/admin/accounts", bearer: admin, json: #"{"name":"\#(name)","plan":"\#(plan)"\#(limit)}"#)
            let id = try #require((account.json["account"] as? [String: Any])?["id"] as? String, "\(account.status) \(account.text)")
            let key = try await http.send(.POST, "\(base)/admin/accounts/\(id)/keys", bearer: admin, json: #"{"environment":"test"}"#)
            let client = Client(name: name, accountID: id, key: try #require(key.json["key"] as? String, "\(key.status) \(key.text)"))
            if credits > 0 { try await client.grant(http, base: base, amount: credits) }
            return client
        }

        func grant(_ http: TestHTTP, base: String, amount: Int) async throws {
            let reply = try await http.send(
                .POST, "\(base)/admin/accounts/\(accountID)/credits", bearer: ReplicaTests.admin, json: #"{"amount":\#(amount),"environment":"test"}"#)
            try #require(reply.status == 200 || reply.status == 201, "\(reply.status) \(reply.text)")
        }

        /// Every ledger entry of the account, newest first.
        func ledger(_ http: TestHTTP, base: String) async throws -> [[String: Any]] {
            var entries: [[String: Any]] = []
            var cursor: String?
            repeat {
                let query = "limit=100" + (cursor.map { "&after=\($0)" } ?? "")
                let page = try await http.send(.GET, "\(base)/admin/accounts/\(accountID)/ledger?\(query)", bearer: ReplicaTests.admin)
                try #require(page.status == 200, "\(page.status) \(page.text)")
                entries += page.json["data"] as? [[String: Any]] ?? []
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil
            return entries
        }
    }
}

/// A thread-safe count.
final class Counter: Sendable {
    private let state = Mutex(0)
    var value: Int { state.withLock { $0 } }
    func increment() { state.withLock { $0 += 1 } }
}

/// The services of `scripts/with-services`, when the tests run under it.
enum ReplicaServices {
    static var s3Endpoint: String? {
        guard let endpoint = ProcessInfo.processInfo.environment["VIDEOGATE_TEST_S3_ENDPOINT"], !endpoint.isEmpty else { return nil }
        return endpoint
    }
    static var available: Bool { TestPostgres.adminURL != nil && s3Endpoint != nil }
}
