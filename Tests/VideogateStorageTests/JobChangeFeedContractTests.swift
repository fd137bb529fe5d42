import Foundation
import Synchronization
import Testing
import VideogateDomain
@testable import VideogateStorage

/// What a feed delivered so far, collected from its `run` in a task of the test.
final class ChangeLog: Sendable {
    private let changes = Mutex<[JobChange]>([])
    var all: [JobChange] { changes.withLock { $0 } }
    func append(_ change: JobChange) { changes.withLock { $0.append(change) } }

    /// Waits (at most `timeout`) until `change` has been delivered `count` times in all.
    func wait(for change: JobChange, count: Int = 1, timeout: Duration = .seconds(10)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if all.filter({ $0 == change }).count >= count { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

@Suite("Store contract: the job change feed")
struct JobChangeFeedContractTests {
    /// Runs `body` while `feed` runs and delivers into a log (after its first `.all`: it is listening).
    static func withFeed(_ feed: any JobChangeFeed, _ body: (ChangeLog) async throws -> Void) async throws {
        let log = ChangeLog()
        let running = Task { await feed.run { log.append($0) } }
        defer { running.cancel() }
        try #require(try await log.wait(for: .all), "the feed never reported that it listens")
        try await body(log)
        running.cancel()
        await running.value
    }

    @Test(arguments: StoreKind.allCases)
    func submitClaimProgressAndEndAreReportedOnCommitButRenewalsAreNot(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Self.withFeed(store.jobChangeFeed()) { log in
                let (account, key) = try await Fixture.funded(store, credits: 100_000)
                let job = Fixture.job(for: account, key: key)
                _ = try await store.submit(Fixture.command(job, key: key, account: account))
                #expect(try await log.wait(for: .job(job.id)), "submit: \(log.all)")

                let t = Fixture.now.addingTimeInterval(1)
                let claimed = try #require(try await store.claimJobs(owner: "w", limit: 1, now: t, leaseUntil: t.addingTimeInterval(30)).first)
                let token = try #require(claimed.leaseToken)
                #expect(try await log.wait(for: .job(job.id), count: 2), "claim: \(log.all)")

                // A renewal changes no watched column: nothing is reported for it. The next change
                // (another job's submission) is the proof that the renewal's notification would have come first.
                #expect(try await store.renewLease(jobID: job.id, token: token, until: t.addingTimeInterval(60)))
                let other = Fixture.job(for: account, key: key, at: t)
                _ = try await store.submit(Fixture.command(other, key: key, account: account))
                #expect(try await log.wait(for: .job(other.id)))
                #expect(log.all.filter { $0 == .job(job.id) }.count == 2, "\(log.all)")

                let accepted = try JobStateMachine.apply(
                    .providerAccepted(providerJobID: "p1", providerRequestID: nil, nextPollAt: t), to: claimed, now: t, videoTTL: 60)
                #expect(try await store.apply(accepted, token: token, at: t))
                #expect(try await log.wait(for: .job(job.id), count: 3), "processing: \(log.all)")
            }
        }
    }

    /// The PostgreSQL feed sees what another process (another store on the same database) commits.
    @Test(.enabled(if: PostgresFixture.isAvailable))
    func postgresFeedSeesAnotherReplicasWrites() async throws {
        try await PostgresFixture.withReplicas(2) { stores in
            #expect(stores[0].jobChangeFeed().fallbackInterval == nil)
            try await Self.withFeed(stores[0].jobChangeFeed()) { log in
                let (account, key) = try await Fixture.funded(stores[1], credits: 100_000)
                let job = Fixture.job(for: account, key: key)
                _ = try await stores[1].submit(Fixture.command(job, key: key, account: account))
                #expect(try await log.wait(for: .job(job.id)), "\(log.all)")
            }
        }
    }

    /// A dropped listening connection is replaced, `.all` tells the watchers to re-read what they
    /// may have missed, and later changes are reported again.
    @Test(.enabled(if: PostgresFixture.isAvailable))
    func postgresFeedReconnectsAfterItsConnectionIsKilledAndReportsAll() async throws {
        try await PostgresFixture.withReplicas(2) { stores in
            try await Self.withFeed(stores[0].jobChangeFeed()) { log in
                try await stores[1].withSession { db in
                    try await db.run("""
                        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE datname = current_database() AND query ILIKE 'LISTEN%'
                        """)
                }
                #expect(try await log.wait(for: .all, count: 2), "no reconnection: \(log.all)")
                let (account, key) = try await Fixture.funded(stores[1], credits: 100_000)
                let job = Fixture.job(for: account, key: key)
                _ = try await stores[1].submit(Fixture.command(job, key: key, account: account))
                #expect(try await log.wait(for: .job(job.id)), "\(log.all)")
            }
        }
    }
}
