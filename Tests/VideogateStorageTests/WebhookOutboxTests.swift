import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

@Suite("Store contract: the webhook outbox")
struct WebhookOutboxTests {
    static let hook = "https://hooks.example.com/videogate"

    /// `count` submitted jobs (with `webhookURL`), each claimed by "w" at `Fixture.now + 1`.
    static func claimedJobs(_ store: any GatewayStore, count: Int, webhookURL: String? = hook) async throws -> [Job] {
        let (account, key) = try await Fixture.funded(store, credits: 1_000_000, limit: 100_000)
        for index in 0..<count {
            var job = Fixture.job(for: account, key: key, at: Fixture.now.addingTimeInterval(Double(index) / 1000))
            job.webhookURL = webhookURL
            _ = try await store.submit(Fixture.command(job, key: key, account: account))
        }
        let t = Fixture.now.addingTimeInterval(1)
        let claimed = try await store.claimJobs(owner: "w", limit: count, now: t, leaseUntil: t.addingTimeInterval(600))
        #expect(claimed.count == count)
        return claimed
    }

    /// Claims as `owner` at `now` for `lease` seconds.
    static func claim(
        _ store: any GatewayStore, _ owner: String, at now: Date, lease: TimeInterval = 60, limit: Int = 10
    ) async throws -> [WebhookDelivery] {
        try await store.claimWebhookDeliveries(owner: owner, limit: limit, now: now, leaseUntil: now.addingTimeInterval(lease))
    }

    static let result = JobResult(videoKey: "v.mp4", thumbnailKey: nil, videoBytes: 10, durationMilliseconds: 4000, width: 1280, height: 720)

    /// Applies `event` as "w" at `at`.
    @discardableResult
    static func apply(_ event: JobEvent, to job: Job, in store: any GatewayStore, at: Date) async throws -> Bool {
        try await store.applyClaimed(try JobStateMachine.apply(event, to: job, now: at, videoTTL: 86_400), at: at)
    }

    @Test(arguments: StoreKind.allCases)
    func aCompletedJobGetsOneDeliveryDueAtOnce(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let job = try #require(try await Self.claimedJobs(store, count: 1).first)
            let t = Fixture.now.addingTimeInterval(2)
            #expect(try await Self.apply(.succeeded(Self.result), to: job, in: store, at: t))
            let deliveries = try await store.webhookDeliveries(jobID: job.id)
            #expect(deliveries.count == 1)
            let delivery = try #require(deliveries.first)
            #expect(Identifier.isWellFormed(delivery.id, prefix: "msg"))
            #expect(delivery.jobID == job.id && delivery.accountID == job.accountID && delivery.url == Self.hook)
            #expect(delivery.event == .completed && delivery.status == .pending && delivery.attemptCount == 0)
            #expect(delivery.nextAttemptAt == t && delivery.attempts.isEmpty && delivery.finishedAt == nil)
            // A second final transition is refused (fenced), and writes no second delivery.
            #expect(try await Self.apply(.failed(JobFailure(.providerError, "late")), to: job, in: store, at: t) == false)
            #expect(try await store.webhookDeliveries(jobID: job.id).count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aFailedJobGetsADeliveryOfItsError(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await Self.claimedJobs(store, count: 2)
            let t = Fixture.now.addingTimeInterval(2)
            #expect(try await Self.apply(.failed(JobFailure(.contentPolicyViolation, "no")), to: jobs[0], in: store, at: t))
            #expect(try await Self.apply(.timedOut, to: jobs[1], in: store, at: t))
            for job in jobs {
                #expect(try await store.webhookDeliveries(jobID: job.id).map(\.event) == [.error])
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func stepsBeforeTheEndAndJobsWithoutWebhookURLWriteNothing(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let job = try #require(try await Self.claimedJobs(store, count: 1).first)
            let t = Fixture.now.addingTimeInterval(2)
            let accepted = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: t), to: job, now: t, videoTTL: 60)
            #expect(try await store.applyClaimed(accepted, at: t))
            var processing = try #require(try await store.claimJobs(owner: "w", limit: 1, now: t, leaseUntil: t.addingTimeInterval(60)).first)
            #expect(try await Self.apply(.stillRunning(progress: 40, nextPollAt: t), to: processing, in: store, at: t))
            processing = try #require(try await store.claimJobs(owner: "w", limit: 1, now: t, leaseUntil: t.addingTimeInterval(60)).first)
            #expect(try await Self.apply(.retryLater(at: t), to: processing, in: store, at: t))
            #expect(try await store.webhookDeliveries(jobID: job.id).isEmpty)

            try await kind.withStore { other in
                let silent = try #require(try await Self.claimedJobs(other, count: 1, webhookURL: nil).first)
                #expect(try await Self.apply(.succeeded(Self.result), to: silent, in: other, at: t))
                #expect(try await other.webhookDeliveries(jobID: silent.id).isEmpty)
                #expect(try await Self.claim(other, "d", at: t.addingTimeInterval(1)).isEmpty)
            }
        }
    }

    /// The outbox row is part of the final state's transaction: when it cannot be written, the
    /// final state and its capture are not written either.
    @Test(arguments: StoreKind.allCases)
    func theFinalStateAndItsOutboxRowCommitTogether(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let job = try #require(try await Self.claimedJobs(store, count: 1).first)
            // A row already there for this job makes the outbox insert fail (one delivery per job).
            switch store {
            case let sqlite as SQLiteStore:
                try await sqlite.pool.write { db in
                    try db.run(
                        sql: """
                            INSERT INTO webhook_deliveries (id, job_id, account_id, url, event, status, next_attempt_at, created_at)
                            VALUES ('msg_planted', ?, ?, 'https://planted.example', 'completed', 'failed', 0, 0)
                            """,
                        arguments: [job.id, job.accountID])
                }
            case let postgres as PostgresStore:
                try await postgres.withSession { db in
                    try await db.run("""
                        INSERT INTO webhook_deliveries (id, job_id, account_id, url, event, status, next_attempt_at, created_at)
                        VALUES ('msg_planted', \(job.id), \(job.accountID), 'https://planted.example', 'completed', 'failed', 0, 0)
                        """)
                }
            default:
                Issue.record("unknown store \(type(of: store))")
            }
            let t = Fixture.now.addingTimeInterval(2)
            await #expect(throws: (any Error).self) { try await Self.apply(.succeeded(Self.result), to: job, in: store, at: t) }
            let stored = try #require(try await store.job(id: job.id))
            #expect(stored.status == .pending && stored.leaseOwner == "w")
            let kinds = try await store.ledger(accountID: job.accountID, limit: 10, before: nil).filter { $0.jobID == job.id }.map(\.kind)
            #expect(kinds == [.hold])
            #expect(try await store.webhookDeliveries(jobID: job.id).map(\.id) == ["msg_planted"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func claimsAreLeasedFencedAndRetakenAfterTheLease(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let job = try #require(try await Self.claimedJobs(store, count: 1).first)
            let t = Fixture.now.addingTimeInterval(2)
            try await Self.apply(.succeeded(Self.result), to: job, in: store, at: t)

            let first = try await Self.claim(store, "d1", at: t)
            let delivery = try #require(first.first)
            #expect(first.count == 1 && delivery.leaseOwner == "d1" && delivery.leaseExpiresAt == t.addingTimeInterval(60))
            #expect(try await Self.claim(store, "d2", at: t.addingTimeInterval(59)).isEmpty)
            // d1 died; after its lease d2 takes the delivery, and d1's late record changes nothing.
            let retaken = try await Self.claim(store, "d2", at: t.addingTimeInterval(61))
            #expect(retaken.map(\.id) == [delivery.id])
            let late = WebhookAttempt(number: 1, attemptedAt: t, statusCode: 200, latencyMilliseconds: 5, error: nil)
            #expect(try await store.recordWebhookAttempt(late, deliveryID: delivery.id, owner: "d1", next: .delivered) == false)

            let failed = WebhookAttempt(
                number: 1, attemptedAt: t.addingTimeInterval(61), statusCode: 500, latencyMilliseconds: 12, error: "the receiver answered 500")
            let retryAt = t.addingTimeInterval(71)
            #expect(try await store.recordWebhookAttempt(failed, deliveryID: delivery.id, owner: "d2", next: .retry(at: retryAt)))
            var stored = try #require(try await store.webhookDeliveries(jobID: job.id).first)
            #expect(stored.status == .pending && stored.attemptCount == 1 && stored.nextAttemptAt == retryAt && stored.leaseOwner == nil)
            #expect(stored.attempts == [failed])
            #expect(try await Self.claim(store, "d3", at: t.addingTimeInterval(70)).isEmpty)

            let again = try await Self.claim(store, "d3", at: retryAt)
            #expect(again.map(\.attemptCount) == [1])
            let noAnswer = WebhookAttempt(
                number: 2, attemptedAt: retryAt, statusCode: nil, latencyMilliseconds: 15_000, error: "no answer within 15 s")
            #expect(try await store.recordWebhookAttempt(noAnswer, deliveryID: delivery.id, owner: "d3", next: .failed))
            stored = try #require(try await store.webhookDeliveries(jobID: job.id).first)
            #expect(stored.status == .failed && stored.attemptCount == 2 && stored.finishedAt == retryAt)
            #expect(stored.attempts == [failed, noAnswer])
            // Final: never claimed again, and no more attempts are recorded.
            #expect(try await Self.claim(store, "d4", at: retryAt.addingTimeInterval(86_400)).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aReleasedLeaseIsDueAgainAtOnceAndADeliveredOneNever(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let job = try #require(try await Self.claimedJobs(store, count: 1).first)
            let t = Fixture.now.addingTimeInterval(2)
            try await Self.apply(.succeeded(Self.result), to: job, in: store, at: t)
            let delivery = try #require(try await Self.claim(store, "d1", at: t).first)
            try await store.releaseWebhookLease(deliveryID: delivery.id, owner: "d1")
            let retaken = try #require(try await Self.claim(store, "d2", at: t).first)
            #expect(retaken.id == delivery.id && retaken.leaseOwner == "d2")
            let ok = WebhookAttempt(number: 1, attemptedAt: t, statusCode: 204, latencyMilliseconds: 3, error: nil)
            #expect(try await store.recordWebhookAttempt(ok, deliveryID: delivery.id, owner: "d2", next: .delivered))
            let stored = try #require(try await store.webhookDeliveries(jobID: job.id).first)
            #expect(stored.status == .delivered && stored.finishedAt == t && stored.attempts == [ok])
            #expect(try await Self.claim(store, "d3", at: t.addingTimeInterval(3600)).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentClaimersGetDistinctDeliveries(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await Self.claimedJobs(store, count: 20)
            let t = Fixture.now.addingTimeInterval(2)
            for job in jobs { try await Self.apply(.succeeded(Self.result), to: job, in: store, at: t) }
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [String] = []
                        for _ in 0..<10 {
                            mine += try await Self.claim(store, "d\(worker)", at: t, limit: 2).map(\.jobID)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claims.count == 20)
            #expect(Set(claims) == Set(jobs.map(\.id)))
        }
    }
}
