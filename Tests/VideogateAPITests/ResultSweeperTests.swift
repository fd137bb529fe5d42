import Foundation
import Logging
import Prometheus
import Synchronization
import Testing
import VideogateDomain
import VideogateStorage
import VideogateWorker

/// A local blob store whose deletes of some keys fail until told otherwise (a permission or an S3
/// deny on one object).
final class FailingDeletes: BlobStore {
    let base: LocalBlobStore
    private let failing: Mutex<Set<String>>
    init(base: LocalBlobStore, failing: Set<String>) {
        self.base = base
        self.failing = Mutex(failing)
    }
    func heal() { failing.withLock { $0 = [] } }

    func put(key: String, from file: URL, contentType: String) async throws { try await base.put(key: key, from: file, contentType: contentType) }
    func put(key: String, data: Data, contentType: String) async throws { try await base.put(key: key, data: data, contentType: contentType) }
    func head(key: String) async throws -> BlobInfo? { try await base.head(key: key) }
    func read<Result>(key: String, range: ClosedRange<Int64>?, _ body: (BlobChunks) async throws -> Result) async throws -> Result {
        try await base.read(key: key, range: range, body)
    }
    func delete(key: String) async throws {
        if failing.withLock({ $0.contains(key) }) { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: key]) }
        try await base.delete(key: key)
    }
    func ping() async throws { try await base.ping() }
    func directURL(key: String, expires: Date) async throws -> URL? { nil }
}

@Suite("Housekeeping: the sweeper cannot jam")
struct ResultSweeperTests {
    @Test func oneFailingDeleteIsCountedAndRetriedLaterWhileTheOthersAreDeletedAndThePurgeRuns() async throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = ManualClock(start)
        let gateway = try await TestGateway.make(role: .api, clock: clock)
        defer { try? FileManager.default.removeItem(at: gateway.directory) }
        let store = gateway.store
        let blobs = FailingDeletes(base: try LocalBlobStore(root: gateway.directory.appendingPathComponent("sweep")), failing: [])

        let account = Account(id: Identifier.make("acct"), name: "s", plan: .pro, dailyLimit: 1000, webhookSecret: "whsec_s", createdAt: start)
        try await store.createAccount(account)
        let key = APIKey(
            id: Identifier.make("key"), accountID: account.id, environment: .test, name: nil, prefix: "vg_test_swee", hash: UUID().uuidString,
            createdAt: start, revokedAt: nil)
        try await store.createKey(key)
        _ = try await store.grant(accountID: account.id, environment: .test, amount: 1_000_000, reason: nil, at: start)
        let model = try #require(Catalog.standard.model("sora-2"))
        for index in 0..<3 {
            let submission = Submission(
                model: model, mode: model.mode, prompt: "p", image: nil, aspectRatio: .landscape, duration: model.defaultDuration, webhookURL: nil,
                metadata: [:])
            let job = Job(
                id: Identifier.make("req", at: start), accountID: account.id, keyID: key.id, environment: .test, model: model, submission: submission,
                imageKey: nil, createdAt: start, deadlineAt: start.addingTimeInterval(1800))
            _ = try await store.submit(
                SubmitCommand(key: key, account: account, idempotencyKey: "sweep-\(index)", requestHash: "h\(index)", validation: .success(job), now: start))
        }
        let t = start.addingTimeInterval(1)
        let jobs = try await store.claimJobs(owner: "w", limit: 3, now: t, leaseUntil: t.addingTimeInterval(60)).sorted { $0.id < $1.id }
        try #require(jobs.count == 3)
        for job in jobs {
            let result = JobResult(
                videoKey: "\(job.id).mp4", thumbnailKey: "\(job.id).jpg", videoBytes: 1, durationMilliseconds: 1, width: 2, height: 2)
            try await blobs.put(key: result.videoKey, data: Data("v".utf8), contentType: "video/mp4")
            try await blobs.put(key: try #require(result.thumbnailKey), data: Data("t".utf8), contentType: "image/jpeg")
            #expect(try await store.apply(try JobStateMachine.apply(.succeeded(result), to: job, now: t, videoTTL: 60), token: job.leaseToken ?? "", at: t))
        }
        let stuck = jobs[1]
        let blobsWithDeny = FailingDeletes(base: blobs.base, failing: ["\(stuck.id).mp4"])

        let registry = PrometheusCollectorRegistry()
        var logger = Logger(label: "sweeper-test")
        logger.logLevel = .critical
        let sweeper = ResultSweeper(
            store: store, blobs: blobsWithDeny, clock: clock, configuration: .init(interval: 60, retryBase: 300, retryCap: 3_600),
            metrics: PrometheusMetricsFactory(registry: registry), logger: logger)
        func failuresCounted() -> Int {
            let line = registry.emitToString().split(separator: "\n").first { $0.hasPrefix("videogate_sweeper_failures_total ") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        func exists(_ key: String) async throws -> Bool { try await blobs.head(key: key) != nil }

        // Two days on: results expired, idempotency records past their 24 h window.
        clock.advance(by: 2 * 86_400)
        let first = await sweeper.sweepOnce()
        #expect(first.deleted == 2 && first.failed == 1)
        #expect(first.purged?.idempotencyKeys == 3, "the purge runs although a delete failed")
        #expect(failuresCounted() == 1)
        for job in jobs where job.id != stuck.id {
            #expect(try await exists("\(job.id).mp4") == false)
            #expect(try await exists("\(job.id).jpg") == false)
            #expect(try await store.job(id: job.id)?.resultDeleted == true)
        }
        #expect(try await exists("\(stuck.id).mp4"))
        #expect(try await store.job(id: stuck.id)?.resultDeleted == false)

        // Not retried before its backoff: no hot loop on the bad file.
        let again = await sweeper.sweepOnce()
        #expect(again.deleted == 0 && again.failed == 0)
        #expect(failuresCounted() == 1)

        // After 300 s it is tried again, fails again, and waits twice as long.
        clock.advance(by: 300)
        #expect(await sweeper.sweepOnce().failed == 1)
        #expect(failuresCounted() == 2)
        clock.advance(by: 599)
        #expect(await sweeper.sweepOnce().failed == 0)

        // Once the delete works, the next due pass removes it.
        blobsWithDeny.heal()
        clock.advance(by: 2)
        #expect(await sweeper.sweepOnce().deleted == 1)
        #expect(try await exists("\(stuck.id).mp4") == false)
        #expect(try await store.job(id: stuck.id)?.resultDeleted == true)
        #expect(failuresCounted() == 2)
        await gateway.dropDatabase?()
    }
}
