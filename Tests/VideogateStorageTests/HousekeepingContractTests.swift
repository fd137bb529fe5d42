import Foundation
import GRDB
import Testing
import VideogateDomain
@testable import VideogateStorage

@Suite("Store contract: housekeeping (deferred deletes, retention, metrics figures)")
struct HousekeepingContractTests {
    static let result = JobResult(videoKey: "a.mp4", thumbnailKey: "a.jpg", videoBytes: 1, durationMilliseconds: 1, width: 2, height: 2)

    /// `count` jobs completed at `Fixture.now + 1` with a 60 s result lifetime, claimed and applied by "w".
    static func completedJobs(_ store: any GatewayStore, count: Int, webhookURL: String? = nil) async throws -> [Job] {
        let claimed = try await WebhookOutboxTests.claimedJobs(store, count: count, webhookURL: webhookURL)
        let t = Fixture.now.addingTimeInterval(1)
        for job in claimed {
            #expect(try await store.apply(try JobStateMachine.apply(.succeeded(result), to: job, now: t, videoTTL: 60), token: job.leaseToken ?? "", at: t))
        }
        return claimed
    }

    @Test(arguments: StoreKind.allCases)
    func aDeferredDeleteIsHiddenUntilItsRetryTimeAndCounted(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await Self.completedJobs(store, count: 2)
            let expired = Fixture.now.addingTimeInterval(100)
            #expect(Set(try await store.expiredResults(now: expired, limit: 10).map(\.id)) == Set(jobs.map(\.id)))
            let retry = expired.addingTimeInterval(300)
            #expect(try await store.deferResultDeletion(jobID: jobs[0].id) { _ in retry } == 1)
            // Only the deferred one is hidden; the other is still due.
            #expect(try await store.expiredResults(now: expired, limit: 10).map(\.id) == [jobs[1].id])
            #expect(try await store.expiredResults(now: retry.addingTimeInterval(-1), limit: 10).map(\.id) == [jobs[1].id])
            #expect(Set(try await store.expiredResults(now: retry, limit: 10).map(\.id)) == Set(jobs.map(\.id)))
            // The count goes on, and the backoff sees it.
            #expect(try await store.deferResultDeletion(jobID: jobs[0].id) { failures in retry.addingTimeInterval(Double(failures) * 100) } == 2)
            #expect(try await store.expiredResults(now: retry.addingTimeInterval(199), limit: 10).map(\.id) == [jobs[1].id])
            try await store.markResultDeleted(jobID: jobs[0].id)
            #expect(try await store.expiredResults(now: retry.addingTimeInterval(1_000), limit: 10).map(\.id) == [jobs[1].id])
            #expect(try await store.deferResultDeletion(jobID: "req_unknown") { _ in retry } == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func purgeKeepsWebhookHistoryForItsRetentionThenRemovesIt(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await Self.completedJobs(store, count: 3, webhookURL: WebhookOutboxTests.hook)
            let t = Fixture.now.addingTimeInterval(2)
            let deliveries = try await WebhookOutboxTests.claim(store, "d", at: t)
            #expect(deliveries.count == 3)
            // Two finish (one delivered, one failed); the third stays pending with an attempt.
            for (index, delivery) in deliveries.enumerated() {
                let attempt = WebhookAttempt(number: 1, attemptedAt: t, statusCode: 500, latencyMilliseconds: 3, error: "the receiver answered 500")
                let next: WebhookNext = [.delivered, .failed, .retry(at: t.addingTimeInterval(10))][index]
                #expect(try await store.recordWebhookAttempt(attempt, deliveryID: delivery.id, owner: "d", next: next))
            }
            let pendingJob = try #require(deliveries.last?.jobID)
            let retention = Retention(webhookHistory: 7 * 86_400, batchSize: 1)
            let kept = try await store.purge(now: t.addingTimeInterval(7 * 86_400 - 1), retention: retention)
            #expect(kept.webhookDeliveries == 0 && kept.webhookAttempts == 0)
            for job in jobs { #expect(try await store.webhookDeliveries(jobID: job.id).count == 1) }

            let removed = try await store.purge(now: t.addingTimeInterval(7 * 86_400 + 1), retention: retention)
            #expect(removed.webhookDeliveries == 2 && removed.webhookAttempts == 2)
            for job in jobs where job.id != pendingJob { #expect(try await store.webhookDeliveries(jobID: job.id).isEmpty) }
            let pending = try await store.webhookDeliveries(jobID: pendingJob)
            #expect(pending.count == 1 && pending.first?.attempts.count == 1)
            // The jobs and their ledger stay.
            for job in jobs { #expect(try await store.job(id: job.id)?.status == .completed) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func purgeRemovesIdempotencyRecordsAndQuotaCountsInBatches(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Fixture.funded(store, credits: 1_000_000, limit: 100_000)
            for index in 0..<5 {
                let job = Fixture.job(for: account, key: key, at: Fixture.now.addingTimeInterval(Double(index)))
                _ = try await store.submit(Fixture.command(job, key: key, account: account, idempotencyKey: "k\(index)", at: job.createdAt))
            }
            let retention = Retention(batchSize: 2)
            #expect(try await store.purge(now: Fixture.now.addingTimeInterval(3_600), retention: retention) == PurgeReport())
            let report = try await store.purge(now: Fixture.now.addingTimeInterval(3 * 86_400), retention: retention)
            #expect(report.idempotencyKeys == 5)
            #expect(report.quotaBuckets >= 1)
            #expect(try await store.quota(keyID: key.id, limit: 100_000, at: Fixture.now.addingTimeInterval(3 * 86_400)).used == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func statsCountFinishedJobsFromCountersAndUnfinishedOnesExactly(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let claimed = try await WebhookOutboxTests.claimedJobs(store, count: 5, webhookURL: nil)
            let t = Fixture.now.addingTimeInterval(2)
            #expect(try await store.apply(try JobStateMachine.apply(.succeeded(Self.result), to: claimed[0], now: t, videoTTL: 60), token: claimed[0].leaseToken ?? "", at: t))
            #expect(try await store.apply(try JobStateMachine.apply(.succeeded(Self.result), to: claimed[1], now: t, videoTTL: 60), token: claimed[1].leaseToken ?? "", at: t))
            #expect(try await store.apply(try JobStateMachine.apply(.timedOut, to: claimed[2], now: t, videoTTL: 60), token: claimed[2].leaseToken ?? "", at: t))
            // A refused second final transition changes no count.
            #expect(try await store.apply(try JobStateMachine.apply(.timedOut, to: claimed[0], now: t, videoTTL: 60), token: claimed[0].leaseToken ?? "", at: t) == false)
            let (account, key) = try await Fixture.funded(store, credits: 1_000_000, limit: 100_000)
            _ = try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account))

            let stats = try await store.stats(now: t)
            var expected: [JobStatus: Int] = [:]
            for status in JobStatus.allCases {
                let count = try await store.jobs(accountID: nil, status: status, limit: 1_000, before: nil).count
                if count > 0 { expected[status] = count }
            }
            #expect(expected == [.pending: 3, .completed: 2, .error: 1])
            #expect(stats.jobsByStatus.filter { $0.value != 0 } == expected)
            // Two jobs still hold their credits (one account's test balance each).
            let held = try await store.balances(accountID: claimed[3].accountID)[.test]?.held ?? 0
            let other = try await store.balances(accountID: account.id)[.test]?.held ?? 0
            #expect(stats.heldCredits[.test] == held + other && held > 0 && other > 0)
        }
    }

    @Test func sqliteStatsReadIndexesAndCountersOnly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path)
        try await store.migrate()
        let queries = SQLiteStore.statsQueries
        for sql in [queries.unfinished, queries.due, queries.held] {
            let plan = try await store.pool.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(sql)", arguments: sql.contains("?") ? [0] : []).map { $0["detail"] as String }
            }
            // "SCAN jobs" or "SCAN balances" alone is a full table scan; a search or an index of
            // only the rows counted is not.
            #expect(plan.allSatisfy { !$0.hasPrefix("SCAN") || $0.contains("balances_holding") }, "\(sql): \(plan)")
            #expect(plan.contains { $0.contains("INDEX") }, "\(sql): \(plan)")
        }
        try await store.close()
    }
}
