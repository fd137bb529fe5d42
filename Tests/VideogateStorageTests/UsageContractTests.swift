import Foundation
import PostgresNIO
import Testing
import VideogateDomain
@testable import VideogateStorage

/// `usage` against the ledger, on each store kind: whatever the range, the grouping and the mix
/// of jobs, each figure is what the ledger's holds, captures and releases say.
@Suite("Usage contract")
struct UsageContractTests {
    /// Creation times around `Fixture.now` (a whole hour): on hours, a millisecond either side, mid
    /// hour, over four UTC days.
    static let offsets: [TimeInterval] = [
        -2 * 86_400 + 1_234.5, -86_400 - 0.001, -86_400, -5 * 3_600 + 0.25, -1_800, -0.001, 0, 0.002, 59.5, 3_600, 3 * 3_600 + 17,
        86_400 + 5, 86_400 + 3_599.999,
    ]
    static let models = ["sora-2", "veo3.1", "kling-v2.6-pro"]

    /// A populated store: two test keys and a live key of one account, a test key of another, every
    /// job submitted at its time, then one in three completed, one in three failed, one left pending.
    struct World {
        var account: Account
        var other: Account
        var jobs: [Job] = []
    }

    static func populate(_ store: any GatewayStore) async throws -> World {
        let (account, testKey) = try await Fixture.funded(store, credits: 10_000_000)
        let secondKey = Fixture.key(for: account)
        try await store.createKey(secondKey)
        let liveKey = Fixture.key(for: account, environment: .live)
        try await store.createKey(liveKey)
        _ = try await store.grant(accountID: account.id, environment: .live, amount: 10_000_000, reason: nil, at: Fixture.now)
        let (other, otherKey) = try await Fixture.funded(store, credits: 10_000_000)
        var world = World(account: account, other: other)
        let keys = [(account, testKey), (account, secondKey), (account, liveKey), (other, otherKey)]
        for (index, offset) in offsets.enumerated() {
            for (keyIndex, (owner, key)) in keys.enumerated() where (index + keyIndex) % 2 == 0 || keyIndex == 0 {
                let time = Fixture.now.addingTimeInterval(offset)
                let job = Fixture.job(for: owner, key: key, model: models[(index + keyIndex) % models.count], at: time)
                world.jobs.append(try #require(try await store.submit(Fixture.command(job, key: key, account: owner, at: time)).createdJob))
            }
        }
        let later = Fixture.now.addingTimeInterval(3 * 86_400)
        let claimed = try await store.claimJobs(owner: "w", limit: 1_000, now: later, leaseUntil: later.addingTimeInterval(60))
        #expect(claimed.count == world.jobs.count)
        for (index, job) in claimed.sorted(by: { $0.id < $1.id }).enumerated() {
            let event: JobEvent
            switch index % 3 {
            case 0: event = .succeeded(JobResult(videoKey: "v", thumbnailKey: nil, videoBytes: 1, durationMilliseconds: 3_900, width: 2, height: 2))
            case 1: event = .failed(JobFailure(.providerError, "no"))
            default:
                try await store.releaseLease(jobID: job.id, token: try #require(job.leaseToken))
                continue
            }
            #expect(try await store.applyClaimed(try JobStateMachine.apply(event, to: job, now: later, videoTTL: 60), at: later))
        }
        return world
    }

    /// The job ledger entries of these accounts, each with its job.
    static func ledger(_ store: any GatewayStore, accounts: [Account]) async throws -> [(LedgerEntry, Job)] {
        var lines: [(LedgerEntry, Job)] = []
        for account in accounts {
            for entry in try await store.ledger(accountID: account.id, limit: 10_000, before: nil) {
                guard let jobID = entry.jobID, let job = try await store.job(id: jobID) else { continue }
                lines.append((entry, job))
            }
        }
        return lines
    }

    /// What the ledger says for jobs created in `range` in `environment`.
    static func fromLedger(
        _ lines: [(LedgerEntry, Job)], environment: KeyEnvironment, range: UsageRange, grouping: UsageGrouping
    ) -> [UsageRow] {
        var rows: [String: UsageRow] = [:]
        for (entry, job) in lines where entry.environment == environment {
            let created = StoreCoding.millis(job.createdAt)
            guard created >= range.fromMillis, created < range.toMillis else { continue }
            let group =
                switch grouping {
                case .day: UsageGrouping.dayLabel(created / 86_400_000)
                case .model: job.modelID
                case .key: job.keyID
                case .account: job.accountID
                }
            var row = rows[group] ?? UsageRow(group: group, jobs: 0, completed: 0, failed: 0, creditsCharged: 0, secondsRendered: 0)
            switch entry.kind {
            case .hold: row.jobs += 1
            case .capture:
                row.completed += 1
                row.creditsCharged -= entry.amount
                row.secondsRendered += job.duration
            case .release: row.failed += 1
            case .grant: break
            }
            rows[group] = row
        }
        return rows.values.sorted { $0.group < $1.group }
    }

    @Test(arguments: StoreKind.allCases)
    func everyRangeAndGroupingEqualsTheLedger(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let world = try await Self.populate(store)
            let lines = try await Self.ledger(store, accounts: [world.account])
            let times = Set(world.jobs.map { StoreCoding.millis($0.createdAt) })
            // Bounds at each job's creation and a millisecond after (so each job falls on both sides
            // of an edge), on whole hours, and outside everything.
            let bounds = Array(Set(times.flatMap { [$0, $0 + 1] } + [StoreCoding.millis(Fixture.now) - 3 * 86_400_000]))
                .sorted()
            var checked = 0
            var sawEverything = UsageRow(group: "", jobs: 0, completed: 0, failed: 0, creditsCharged: 0, secondsRendered: 0)
            for (i, from) in bounds.enumerated() where i % 2 == 0 || i < 4 {
                for to in bounds[(i + 1)...] where (to - from) % 3 != 1 || to == bounds.last {
                    let range = UsageRange(fromMillis: from, toMillis: to)
                    for grouping in UsageGrouping.forAccounts {
                        for environment in KeyEnvironment.allCases {
                            let query = UsageQuery(accountID: world.account.id, environment: environment, range: range, grouping: grouping)
                            let expected = Self.fromLedger(lines, environment: environment, range: range, grouping: grouping)
                            #expect(try await store.usage(query) == expected, "\(from)..<\(to) by \(grouping) in \(environment)")
                            checked += 1
                            for row in expected where environment == .test && grouping == .day {
                                sawEverything.jobs += row.jobs
                                sawEverything.completed += row.completed
                                sawEverything.failed += row.failed
                            }
                        }
                    }
                }
            }
            #expect(checked > 200)
            #expect(sawEverything.jobs > 0 && sawEverything.completed > 0 && sawEverything.failed > 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func accountsAndEnvironmentsNeverSeeEachOther(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let world = try await Self.populate(store)
            let now = StoreCoding.millis(Fixture.now)
            let range = UsageRange(fromMillis: now - 3 * 86_400_000, toMillis: now + 2 * 86_400_000)
            func total(_ account: Account?, _ environment: KeyEnvironment) async throws -> Int {
                try await store.usage(UsageQuery(accountID: account?.id, environment: environment, range: range, grouping: .model))
                    .reduce(0) { $0 + $1.jobs }
            }
            func count(_ account: Account, _ environment: KeyEnvironment) -> Int {
                world.jobs.filter { $0.accountID == account.id && $0.environment == environment }.count
            }
            #expect(try await total(world.account, .test) == count(world.account, .test))
            #expect(try await total(world.account, .live) == count(world.account, .live))
            #expect(try await total(world.other, .test) == count(world.other, .test))
            #expect(try await total(world.other, .live) == 0)
            #expect(try await total(nil, .test) == count(world.account, .test) + count(world.other, .test))
            // Across accounts, by account: each account's own figures.
            let byAccount = try await store.usage(UsageQuery(accountID: nil, environment: .test, range: range, grouping: .account))
            let expected = Self.fromLedger(
                try await Self.ledger(store, accounts: [world.account, world.other]), environment: .test, range: range, grouping: .account)
            #expect(byAccount == expected && byAccount.count == 2)
            let empty = UsageRange(fromMillis: range.toMillis, toMillis: range.toMillis + 86_400_000)
            #expect(try await store.usage(UsageQuery(accountID: nil, environment: nil, range: empty, grouping: .day)).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func migrationTenFillsTheRollupsFromTheJobsAlreadyStored(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let world = try await Self.populate(store)
            // As a database of version 9 would be: jobs and ledger, no rollups, and (PostgreSQL) none
            // of migration 11's notify trigger either, nor migration 12's routing columns, nor 13's
            // console sessions, so that
            // `migrate` applies 10 and what follows.
            let undoTwelve = [
                "DROP INDEX jobs_in_flight_by_credential", "DROP TABLE credential_health",
                "ALTER TABLE jobs DROP COLUMN credential", "ALTER TABLE jobs DROP COLUMN credential_definition",
                "ALTER TABLE jobs DROP COLUMN routed_model",
            ]
            let undoThirteen = ["DROP TABLE console_sessions", "ALTER TABLE jobs DROP COLUMN trace_parent"]
            let statements = undoThirteen + undoTwelve + [
                "DROP TABLE usage_hourly", "DROP TABLE usage_daily", "DELETE FROM schema_migrations WHERE version >= 10",
            ]
            if let sqlite = store as? SQLiteStore {
                try await sqlite.pool.write { db in for sql in statements { try db.execute(sql: sql) } }
            } else if let postgres = store as? PostgresStore {
                let undoEleven = [
                    "DROP TRIGGER jobs_notify_insert ON jobs", "DROP TRIGGER jobs_notify_update ON jobs",
                    "DROP FUNCTION videogate_notify_job_change()",
                ]
                try await postgres.withSession { db in
                    for sql in statements + undoEleven { try await db.run(PostgresQuery(unsafeSQL: sql)) }
                }
            }
            try await store.migrate()
            let lines = try await Self.ledger(store, accounts: [world.account])
            let start = StoreCoding.millis(Fixture.now) - 3 * 86_400_000
            let ranges = [
                UsageRange(fromMillis: start, toMillis: start + 5 * 86_400_000),
                UsageRange(fromMillis: start + 86_400_000 + 7, toMillis: start + 4 * 86_400_000 - 5),
            ]
            for range in ranges {
                for grouping in UsageGrouping.forAccounts {
                    let query = UsageQuery(accountID: world.account.id, environment: .test, range: range, grouping: grouping)
                    #expect(try await store.usage(query) == Self.fromLedger(lines, environment: .test, range: range, grouping: grouping))
                }
            }
        }
    }
}
