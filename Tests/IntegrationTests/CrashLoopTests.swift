import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing

/// A crash loop loses nothing: clients submit with `Idempotency-Key`s and retry whatever got no
/// answer while the server (SQLite, `--role all`) is killed with SIGKILL at random instants and
/// restarted on the same data directory. Afterwards there is exactly one job per key, every job is
/// final, nothing is held, and each account's total equals its grants minus its captures.
@Suite("Crash loop", .serialized)
struct CrashLoopTests {
    static let kills = 6
    static let clientsPerAccount = 2
    static let accounts = 2
    static let grant = 10_000_000
    static let model = "sora-2"

    @Test func killingTheServerRepeatedlyLosesNothingAndChargesOnce() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let admin = "crash-loop-admin-token"
        let environment = ServerLifecycleTests.environment(data, [
            "VIDEOGATE_JOB_LEASE_SECONDS": "2", "VIDEOGATE_SANDBOX_DELAY_MS": "200", "VIDEOGATE_ADMIN_TOKEN": admin,
            "VIDEOGATE_SANDBOX_SHORT_SIDE": "64",
        ])
        var keys: [(account: String, key: String)] = []
        for index in 0..<Self.accounts {
            let account = try await VideogateBinary.json(
                ["accounts", "create", "--name", "crash-\(index)", "--plan", "enterprise", "--daily-limit", "100000"], environment: environment)
            let accountID = try #require(account["id"] as? String)
            let created = try await VideogateBinary.json(["keys", "create", "--account", accountID, "--environment", "test"], environment: environment)
            _ = try await VideogateBinary.json(
                ["credits", "add", "--account", accountID, "--amount", "\(Self.grant)", "--environment", "test"], environment: environment)
            keys.append((accountID, try #require(created["key"] as? String)))
        }

        var servers: [ServerProcess] = []
        defer { for server in servers { server.stop() } }
        let first = try await ServerProcess(environment: environment)
        servers.append(first)
        let target = Target(first.baseURL)
        let tally = Tally()

        try await withHTTP { http in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<(Self.accounts * Self.clientsPerAccount) {
                    let owner = keys[client % Self.accounts]
                    group.addTask { try await Self.client(client, owner: owner, http: http, target: target, tally: tally) }
                }
                // The killer: SIGKILL at a random instant, restart on the same directory, again.
                for _ in 0..<Self.kills {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 1200...3500)))
                    let current = servers[servers.count - 1]
                    current.signal(SIGKILL)
                    #expect(try await current.waitForExit(timeout: .seconds(10)))
                    current.stop()
                    tally.killed()
                    let next = try await ServerProcess(environment: environment)
                    servers.append(next)
                    let before = tally.answered.count
                    target.set(next.baseURL)
                    // Each life of the server answers a few submissions before the next kill, however
                    // slow a loaded machine makes its start (bounded: 30 s).
                    let progressBy = ContinuousClock.now + .seconds(30)
                    while tally.answered.count < before + 2 && ContinuousClock.now < progressBy {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                // Let the clients see the last server answer, then stop them.
                try await Task.sleep(for: .seconds(2))
                target.stop()
                try await group.waitForAll()
            }

            let server = servers[servers.count - 1]
            let answered = tally.answered
            var jobsSeen = 0
            for (account, _) in keys {
                let ids = try await Self.jobs(http, server.baseURL, account: account, admin: admin, settled: true)
                let expected = Set(answered.filter { $0.account == account }.map(\.requestID))
                jobsSeen += ids.count
                // Exactly one job per idempotency key: every answered key's job, and no other.
                #expect(ids.count == expected.count, "account \(account): \(ids.count) jobs for \(expected.count) keys\n\(server.logTail)")
                #expect(Set(ids) == expected, "account \(account): jobs without a key or keys without their job")
                try await Self.expectSettled(http, server.baseURL, account: account, admin: admin, jobs: Set(ids))
            }
            let figures = tally.figures
            print(
                "crash-loop: kills=\(figures.kills) keys=\(answered.count) requests=\(figures.requests) "
                    + "unanswered=\(figures.unanswered) replays_checked=\(figures.replays) jobs=\(jobsSeen)")
            #expect(figures.kills >= 5)
            #expect(answered.count >= 2 * Self.kills, "too few submissions to mean anything: \(answered.count)")
            #expect(figures.unanswered > 0, "no request was cut by a kill: the test did not test retries")
        }
    }

    /// Submits jobs one after the other, each under its own key, retrying a request that got no
    /// answer (connection refused or cut, 5xx) with the same key and body until it gets one; every
    /// third answered key is sent once more and must replay the same job.
    static func client(_ client: Int, owner: (account: String, key: String), http: TestHTTP, target: Target, tally: Tally) async throws {
        var index = 0
        while target.running, index < 200 {
            let idempotencyKey = "crash-\(client)-\(index)"
            let body = #"{"prompt":"crash loop \#(client) \#(index)","model":"\#(model)"}"#
            var requestID: String?
            var attempts = 0
            // Bounded: about 60 s of retries, far more than a restart takes.
            while requestID == nil, attempts < 600 {
                attempts += 1
                tally.request()
                if let reply = try? await submit(http, target.base, key: owner.key, idempotencyKey: idempotencyKey, body: body), reply.status < 500 {
                    try #require(reply.status == 200, "\(idempotencyKey): \(reply.status) \(reply.text)")
                    requestID = try #require(reply.json["request_id"] as? String)
                } else {
                    tally.unanswered()
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let id = try #require(requestID, "\(idempotencyKey) got no answer in \(attempts) attempts")
            tally.answer(Answer(account: owner.account, idempotencyKey: idempotencyKey, requestID: id))
            if index % 3 == 0, let reply = try? await submit(http, target.base, key: owner.key, idempotencyKey: idempotencyKey, body: body),
                reply.status == 200
            {
                #expect(reply.json["request_id"] as? String == id, "\(idempotencyKey) replayed another job")
                #expect(reply.headers.first(name: "Idempotent-Replayed") == "true")
                tally.replayed()
            }
            index += 1
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...1200)))
        }
    }

    static func submit(_ http: TestHTTP, _ base: String, key: String, idempotencyKey: String, body: String) async throws -> TestHTTP.Reply {
        var request = HTTPClientRequest(url: "\(base)/v1/video")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.client.execute(request, timeout: .seconds(10))
        let collected = try await response.body.collect(upTo: 1024 * 1024)
        return TestHTTP.Reply(status: Int(response.status.code), headers: response.headers, body: Data(collected.readableBytesView))
    }

    /// The ids of an account's jobs (admin API, every page); with `settled`, waits (bounded) until all are final.
    static func jobs(_ http: TestHTTP, _ base: String, account: String, admin: String, settled: Bool) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(180)
        while true {
            var ids: [String] = []
            var unfinished = 0
            var cursor: String?
            repeat {
                let after = cursor.map { "&after=\($0)" } ?? ""
                let page = try await http.send(.GET, "\(base)/admin/jobs?account=\(account)&limit=100\(after)", bearer: admin)
                try #require(page.status == 200, "\(page.text)")
                let data = try #require(page.json["data"] as? [[String: Any]])
                ids += data.compactMap { $0["id"] as? String }
                unfinished += data.filter { !["completed", "error"].contains($0["status"] as? String ?? "") }.count
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil
            if !settled || unfinished == 0 { return ids }
            guard ContinuousClock.now < deadline else {
                Issue.record("account \(account): \(unfinished) jobs still unfinished after 180 s")
                return ids
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Nothing held; one hold and one capture or release per job; total == grants − captures.
    static func expectSettled(_ http: TestHTTP, _ base: String, account: String, admin: String, jobs: Set<String>) async throws {
        var entries: [[String: Any]] = []
        var cursor: String?
        repeat {
            let after = cursor.map { "&after=\($0)" } ?? ""
            let page = try await http.send(.GET, "\(base)/admin/accounts/\(account)/ledger?limit=100\(after)", bearer: admin)
            try #require(page.status == 200, "\(page.text)")
            entries += try #require(page.json["data"] as? [[String: Any]])
            cursor = page.json["next_cursor"] as? String
        } while cursor != nil
        func sum(_ kind: String) -> Int { entries.filter { $0["kind"] as? String == kind }.compactMap { $0["amount"] as? Int }.map(abs).reduce(0, +) }
        var kindsByJob: [String: [String]] = [:]
        for entry in entries {
            guard let job = entry["job_id"] as? String, let kind = entry["kind"] as? String else { continue }
            kindsByJob[job, default: []].append(kind)
        }
        #expect(Set(kindsByJob.keys) == jobs, "ledger entries for jobs that do not exist, or jobs without entries")
        for (job, kinds) in kindsByJob {
            #expect(kinds.sorted() == ["capture", "hold"] || kinds.sorted() == ["hold", "release"], "ledger of \(job): \(kinds)")
        }
        let fetched = try await http.send(.GET, "\(base)/admin/accounts/\(account)", bearer: admin)
        let balances = (fetched.json["account"] as? [String: Any])?["balances"] as? [String: Any]
        let test = try #require(balances?["test"] as? [String: Any], "\(fetched.text)")
        let held = try #require(test["held"] as? Int)
        let total = try #require(test["available"] as? Int) + held
        #expect(held == 0, "account \(account) still holds \(held)")
        #expect(total == sum("grant") - sum("capture"), "account \(account): total \(total), grants \(sum("grant")), captures \(sum("capture"))")
        #expect(sum("grant") == grant)
    }
}

/// The base URL of the server now running, and whether the clients should go on.
final class Target: Sendable {
    private let state: Mutex<(base: String, running: Bool)>
    init(_ base: String) { state = Mutex((base, true)) }
    var base: String { state.withLock { $0.base } }
    var running: Bool { state.withLock { $0.running } }
    func set(_ base: String) { state.withLock { $0.base = base } }
    func stop() { state.withLock { $0.running = false } }
}

/// One key that got its answer.
struct Answer: Sendable {
    let account: String
    let idempotencyKey: String
    let requestID: String
}

/// What the clients and the killer did.
final class Tally: Sendable {
    struct Figures: Sendable {
        var kills = 0
        var requests = 0
        var unanswered = 0
        var replays = 0
        var answers: [Answer] = []
    }
    private let state = Mutex(Figures())
    var figures: Figures { state.withLock { $0 } }
    var answered: [Answer] { state.withLock { $0.answers } }
    func killed() { state.withLock { $0.kills += 1 } }
    func request() { state.withLock { $0.requests += 1 } }
    func unanswered() { state.withLock { $0.unanswered += 1 } }
    func replayed() { state.withLock { $0.replays += 1 } }
    func answer(_ answer: Answer) { state.withLock { $0.answers.append(answer) } }
}
