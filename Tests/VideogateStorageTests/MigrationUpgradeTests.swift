import Foundation
import PostgresNIO
import Testing
import VideogateDomain
@testable import VideogateStorage

/// Migration 5 on a database that already holds idempotency records: each record keeps answering
/// in its job's environment, and only there.
@Suite("Migration 5: idempotency keys per environment, on existing data")
struct MigrationUpgradeTests {
    /// An account with a key of each environment and credits in both, and one job of each
    /// environment written by the schema before migration 5, each with an idempotency record.
    struct Before {
        let account: Account
        let test: APIKey
        let live: APIKey
        let testJob: Job
        let liveJob: Job
    }

    static func before() -> Before {
        let account = Fixture.account()
        let test = Fixture.key(for: account, environment: .test)
        let live = Fixture.key(for: account, environment: .live)
        return Before(
            account: account, test: test, live: live, testJob: Fixture.job(for: account, key: test),
            liveJob: Fixture.job(for: account, key: live, at: Fixture.now.addingTimeInterval(0.001)))
    }

    /// The account only: its keys are created once the schema is current (`api_keys` gained a
    /// column since), which the jobs do not need (`jobs.key_id` has no foreign key).
    static func setUpAccount(_ store: any GatewayStore, _ before: Before) async throws {
        try await store.createAccount(before.account)
    }

    /// After migrating: the records replay their own environment's job and nothing in the other.
    static func expectScoped(_ store: any GatewayStore, _ before: Before) async throws {
        try await store.createKey(before.test)
        try await store.createKey(before.live)
        for environment in KeyEnvironment.allCases {
            _ = try await store.grant(accountID: before.account.id, environment: environment, amount: 100_000, reason: nil, at: Fixture.now)
        }
        let (account, test, live) = (before.account, before.test, before.live)
        for (key, record, job) in [(test, "t", before.testJob), (live, "l", before.liveJob)] {
            let replay = try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account, idempotencyKey: record, hash: "A"))
            guard case .replayed(let replayed, _) = replay else {
                Issue.record("record \(record) does not replay in \(key.environment): \(replay)")
                continue
            }
            #expect(replayed.id == job.id)
        }
        for (key, record) in [(live, "t"), (test, "l")] {
            let crossed = try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account, idempotencyKey: record, hash: "A"))
            #expect(crossed.createdJob?.environment == key.environment, "record \(record) crossed into \(key.environment): \(crossed)")
        }
    }

    @Test func sqlite() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-upgrade-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path)
        try await store.migrate(through: 3)
        let before = Self.before()
        try await Self.setUpAccount(store, before)
        try await store.pool.write { db in
            for (job, record) in [(before.testJob, "t"), (before.liveJob, "l")] {
                try store.insertJob(db, job)
                try db.run(sql: "INSERT INTO idempotency_keys (account_id, key, request_hash, job_id, created_at) VALUES (?, ?, 'A', ?, ?)",
                    arguments: [before.account.id, record, job.id, StoreCoding.millis(Fixture.now)])
            }
        }
        try await store.migrate()
        try await Self.expectScoped(store, before)
        try await store.close()
    }

    @Test(.enabled(if: PostgresFixture.isAvailable)) func postgres() async throws {
        try await PostgresFixture.withDatabase { url in
            let store = try PostgresFixture.store(url: url)
            do {
                try await store.migrate(through: 3)
                let before = Self.before()
                try await Self.setUpAccount(store, before)
                try await store.transaction { db in
                    for (job, record) in [(before.testJob, "t"), (before.liveJob, "l")] {
                        try await store.insertJob(db, job)
                        try await db.run("""
                            INSERT INTO idempotency_keys (account_id, key, request_hash, job_id, created_at)
                            VALUES (\(before.account.id), \(record), 'A', \(job.id), \(StoreCoding.millis(Fixture.now)))
                            """)
                    }
                }
                try await store.migrate()
                try await Self.expectScoped(store, before)
                try await store.close()
            } catch {
                try? await store.close()
                throw error
            }
        }
    }
}
