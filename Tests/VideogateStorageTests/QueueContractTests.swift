import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

@Suite("Store contract: the queue")
struct QueueContractTests {
    static func seed(_ store: any GatewayStore, jobs count: Int) async throws -> (Account, [Job]) {
        let (account, key) = try await Fixture.funded(store, credits: 1_000_000, limit: 100_000)
        var jobs: [Job] = []
        for index in 0..<count {
            let job = Fixture.job(for: account, key: key, at: Fixture.now.addingTimeInterval(Double(index) / 1000))
            _ = try await store.submit(Fixture.command(job, key: key, account: account))
            jobs.append(job)
        }
        return (account, jobs)
    }

    @Test(arguments: StoreKind.allCases)
    func claimsTakeDueJobsOnceUnderALease(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, jobs) = try await Self.seed(store, jobs: 3)
            let t = Fixture.now.addingTimeInterval(1)
            let claimed = try await store.claimJobs(owner: "w1", limit: 10, now: t, leaseUntil: t.addingTimeInterval(30))
            #expect(Set(claimed.map(\.id)) == Set(jobs.map(\.id)))
            #expect(claimed.allSatisfy { $0.leaseOwner == "w1" && $0.attempts == 1 && $0.leaseToken != nil })
            #expect(Set(claimed.compactMap(\.leaseToken)).count == 3)
            let first = try #require(claimed.first { $0.id == jobs[0].id }?.leaseToken)
            // Leased: nobody else gets them until the lease runs out.
            #expect(try await store.claimJobs(owner: "w2", limit: 10, now: t.addingTimeInterval(29), leaseUntil: t.addingTimeInterval(60)).isEmpty)
            #expect(try await store.renewLease(jobID: jobs[0].id, token: first, until: t.addingTimeInterval(120)))
            #expect(try await store.renewLease(jobID: jobs[0].id, token: "someone-else", until: t.addingTimeInterval(120)) == false)
            let retaken = try await store.claimJobs(owner: "w2", limit: 10, now: t.addingTimeInterval(31), leaseUntil: t.addingTimeInterval(90))
            #expect(Set(retaken.map(\.id)) == Set(jobs.dropFirst().map(\.id)))
            #expect(retaken.allSatisfy { $0.attempts == 2 })
            try await store.releaseLease(jobID: jobs[0].id, token: first)
            #expect(try await store.claimJobs(owner: "w3", limit: 10, now: t.addingTimeInterval(32), leaseUntil: t.addingTimeInterval(90)).map(\.id) == [jobs[0].id])
        }
    }

    /// The owner fence let a process whose lease lapsed, and which claimed the job again, act
    /// under both claims. The token belongs to one claim: the old one can do nothing any more.
    @Test(arguments: StoreKind.allCases)
    func aLapsedClaimTakenAgainBySameOwnerIsFencedOut(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, jobs) = try await Self.seed(store, jobs: 1)
            let t = Fixture.now.addingTimeInterval(1)
            let old = try #require(try await store.claimJobs(owner: "w", limit: 1, now: t, leaseUntil: t.addingTimeInterval(5)).first)
            let new = try #require(
                try await store.claimJobs(owner: "w", limit: 1, now: t.addingTimeInterval(6), leaseUntil: t.addingTimeInterval(36)).first)
            let oldToken = try #require(old.leaseToken)
            let newToken = try #require(new.leaseToken)
            #expect(old.id == jobs[0].id && new.id == old.id && oldToken != newToken)

            #expect(try await store.renewLease(jobID: old.id, token: oldToken, until: t.addingTimeInterval(60)) == false)
            let late = try JobStateMachine.apply(.failed(JobFailure(.providerError, "stale")), to: old, now: t, videoTTL: 60)
            #expect(try await store.apply(late, token: oldToken, at: t) == false)
            // The old claim's release leaves the new claim's lease in place.
            try await store.releaseLease(jobID: old.id, token: oldToken)
            let held = try #require(try await store.job(id: old.id))
            #expect(held.leaseToken == newToken && held.status == .pending)
            #expect(try await store.claimJobs(owner: "x", limit: 1, now: t.addingTimeInterval(7), leaseUntil: t.addingTimeInterval(40)).isEmpty)

            #expect(try await store.renewLease(jobID: new.id, token: newToken, until: t.addingTimeInterval(60)))
            let done = try JobStateMachine.apply(.failed(JobFailure(.providerError, "once")), to: new, now: t, videoTTL: 60)
            #expect(try await store.apply(done, token: newToken, at: t))
            let ledger = try await store.ledger(accountID: account.id, limit: 20, before: nil).filter { $0.jobID == old.id }
            #expect(ledger.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.hold, .release])
            #expect(try await store.job(id: old.id)?.leaseToken == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func futureJobsWaitUnlessTheirDeadlinePassed(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, jobs) = try await Self.seed(store, jobs: 1)
            let t = Fixture.now.addingTimeInterval(1)
            var job = try #require(try await store.claimJobs(owner: "w", limit: 1, now: t, leaseUntil: t.addingTimeInterval(5)).first)
            let later = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: t.addingTimeInterval(3600)), to: job, now: t, videoTTL: 60)
            #expect(try await store.applyClaimed(later, at: t))
            #expect(try await store.claimJobs(owner: "w", limit: 1, now: t.addingTimeInterval(60), leaseUntil: t.addingTimeInterval(90)).isEmpty)
            let pastDeadline = Fixture.now.addingTimeInterval(1801)
            job = try #require(
                try await store.claimJobs(owner: "w", limit: 1, now: pastDeadline, leaseUntil: pastDeadline.addingTimeInterval(5)).first)
            #expect(job.id == jobs[0].id && job.status == .processing && job.providerJobID == "up")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentClaimersTakeEachJobExactlyOnce(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, jobs) = try await Self.seed(store, jobs: 20)
            let t = Fixture.now.addingTimeInterval(1)
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [String] = []
                        for _ in 0..<10 {
                            mine += try await store.claimJobs(owner: "w\(worker)", limit: 2, now: t, leaseUntil: t.addingTimeInterval(30)).map(\.id)
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

    @Test(arguments: StoreKind.allCases)
    func finalTransitionsChargeExactlyOnceAndAreFenced(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, jobs) = try await Self.seed(store, jobs: 2)
            let t = Fixture.now.addingTimeInterval(1)
            let claimed = try await store.claimJobs(owner: "w1", limit: 2, now: t, leaseUntil: t.addingTimeInterval(30))
            let first = try #require(claimed.first { $0.id == jobs[0].id })
            let second = try #require(claimed.first { $0.id == jobs[1].id })
            let result = JobResult(
                videoKey: "\(first.id).mp4", thumbnailKey: nil, videoBytes: 10, durationMilliseconds: 4000, width: 1280, height: 720)
            let success = try JobStateMachine.apply(.succeeded(result), to: first, now: t, videoTTL: 60)
            #expect(try await store.apply(success, token: "intruder", at: t) == false)
            #expect(try await store.job(id: first.id)?.status == .pending)
            #expect(try await store.applyClaimed(success, at: t))
            // A second final transition (a retry after a crash, or another worker) changes nothing.
            let failure = try JobStateMachine.apply(.failed(JobFailure(.providerError, "late")), to: first, now: t, videoTTL: 60)
            #expect(try await store.applyClaimed(failure, at: t) == false)
            #expect(try await store.applyClaimed(success, at: t) == false)
            let stored = try #require(try await store.job(id: first.id))
            #expect(stored.status == .completed && stored.result == result && stored.creditsUsed == 3500 && stored.leaseOwner == nil)

            let release = try JobStateMachine.apply(.failed(JobFailure(.contentPolicyViolation, "no")), to: second, now: t, videoTTL: 60)
            #expect(try await store.applyClaimed(release, at: t))
            #expect(try await store.job(id: second.id)?.failure == JobFailure(.contentPolicyViolation, "no"))

            let ledger = try await store.ledger(accountID: account.id, limit: 20, before: nil)
            #expect(ledger.filter { $0.jobID == first.id }.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.capture, .hold])
            #expect(ledger.filter { $0.jobID == second.id }.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.hold, .release])
            #expect(try await store.balances(accountID: account.id)[.test] == Balance(total: 1_000_000 - 3500, held: 0))

            let stats = try await store.stats(now: t)
            #expect(stats.jobsByStatus[.completed] == 1 && stats.jobsByStatus[.error] == 1 && stats.heldCredits[.test] == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theDatabaseRefusesASecondSettlement(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, jobs) = try await Self.seed(store, jobs: 1)
            switch store {
            case let sqlite as SQLiteStore:
                try await sqlite.pool.write { db in _ = try sqlite.applyLedger(db, job: jobs[0], kind: .capture, at: Fixture.now) }
                await #expect(throws: (any Error).self) {
                    try await sqlite.pool.write { db in _ = try sqlite.applyLedger(db, job: jobs[0], kind: .release, at: Fixture.now) }
                }
            case let postgres as PostgresStore:
                try await postgres.transaction { db in _ = try await postgres.applyLedger(db, job: jobs[0], kind: .capture, at: Fixture.now) }
                await #expect(throws: (any Error).self) {
                    try await postgres.transaction { db in _ = try await postgres.applyLedger(db, job: jobs[0], kind: .release, at: Fixture.now) }
                }
            default:
                Issue.record("unknown store \(type(of: store))")
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func expiredResultsAndPurge(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, jobs) = try await Self.seed(store, jobs: 1)
            let t = Fixture.now.addingTimeInterval(1)
            let job = try #require(try await store.claimJobs(owner: "w", limit: 1, now: t, leaseUntil: t.addingTimeInterval(30)).first)
            let result = JobResult(videoKey: "a.mp4", thumbnailKey: "a.jpg", videoBytes: 1, durationMilliseconds: 1, width: 2, height: 2)
            #expect(try await store.applyClaimed(try JobStateMachine.apply(.succeeded(result), to: job, now: t, videoTTL: 60), at: t))
            #expect(try await store.expiredResults(now: t.addingTimeInterval(59), limit: 10).isEmpty)
            #expect(try await store.expiredResults(now: t.addingTimeInterval(61), limit: 10).map(\.id) == [jobs[0].id])
            try await store.markResultDeleted(jobID: jobs[0].id)
            #expect(try await store.expiredResults(now: t.addingTimeInterval(61), limit: 10).isEmpty)
            #expect(try await store.job(id: jobs[0].id)?.resultDeleted == true)
            _ = try await store.purge(now: t.addingTimeInterval(2 * 86_400), retention: Retention())
            #expect(try await store.stats(now: t).queueDepth == 0)
        }
    }
}
