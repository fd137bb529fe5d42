import Foundation
import ProviderFakes
import Testing
import VideogateDomain
@testable import VideogateStorage

/// A run that must have the services fails here when PostgreSQL is missing, instead of silently
/// running the contract suite on SQLite alone.
@Test(.enabled(if: TestPostgres.required))
func postgresIsConfiguredWhenServicesAreRequired() {
    #expect(TestPostgres.adminURL != nil, "VIDEOGATE_TEST_REQUIRE_SERVICES=1 but VIDEOGATE_TEST_POSTGRES_URL is not set")
}

@Suite("PostgreSQL URLs")
struct PostgresURLTests {
    @Test func aFullURLIsReadAsLibpqReadsIt() throws {
        let url = try PostgresURL("postgresql://vg%40ops:p%3Ass%2Fw@db.example.com:6432/video%20gate?sslmode=verify-full&application_name=api")
        #expect(url.host == "db.example.com" && url.port == 6432)
        #expect(url.username == "vg@ops" && url.password == "p:ss/w" && url.database == "video gate")
        #expect(url.sslMode == .verifyFull && url.applicationName == "api")
    }

    @Test func defaultsAreLibpqs() throws {
        let url = try PostgresURL("postgres://db")
        #expect(url.host == "db" && url.port == 5432 && url.username == "postgres" && url.password == nil && url.database == nil)
        #expect(url.sslMode == .prefer && url.connectTimeout == nil)
        #expect(try PostgresURL("postgres://u@[::1]:5433/d?sslmode=disable&connect_timeout=3").host == "::1")
        #expect(try PostgresURL("postgres://u@h/d?connect_timeout=3").connectTimeout == .seconds(3))
        #expect(try PostgresURL("postgres://u@h/d?sslmode=require").sslMode == .require)
        #expect(try PostgresURL("postgres://u@h/d?sslmode=verify-ca").sslMode == .verifyCA)
    }

    @Test(arguments: [
        "", "db.example.com/videogate", "mysql://u@h/d", "postgres:///d", "postgres://u@h/d?sslmode=always",
        "postgres://u@h/d/extra", "postgres://u@h/d?connect_timeout=soon", "postgres://u@h/d?host=/tmp", "postgres://u:p@h:99999/d",
    ])
    func malformedURLsAreRefused(url: String) {
        #expect(throws: PostgresURLError.self) { try PostgresURL(url) }
    }

    @Test func theErrorNeverShowsThePassword() {
        #expect {
            try PostgresURL("postgresql://user:hunter2@h/d?sslmode=sometimes")
        } throws: { error in
            "\(error)".contains("sometimes") && !"\(error)".contains("hunter2")
        }
        #expect(throws: PostgresURLError.self) { try PostgresStore(url: "postgres://h/d", poolSize: 0, logger: PostgresFixture.logger) }
    }
}

/// What only several processes on one PostgreSQL database can show: each test runs several
/// `PostgresStore`s (replicas, each with its own pool) on one fresh database.
@Suite("PostgreSQL: replicas on one database", .enabled(if: PostgresFixture.isAvailable))
struct PostgresReplicaTests {
    @Test func concurrentMigrationsFromFourReplicasApplyEachMigrationOnce() async throws {
        try await PostgresFixture.withDatabase { url in
            let stores = try (0..<4).map { _ in try PostgresFixture.store(url: url, poolSize: 2) }
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for store in stores { group.addTask { try await store.migrate() } }
                    try await group.waitForAll()
                }
                try await stores[1].migrate()
                let versions = try await stores[0].withSession { db in
                    try await db.rows("SELECT version FROM schema_migrations ORDER BY version")
                        .map { try $0.makeRandomAccess().value("version", as: Int.self) }
                }
                #expect(versions == PostgresMigrations.all.map(\.version))
                let (account, _) = try await Fixture.funded(stores[2], credits: 10)
                #expect(try await stores[3].balances(accountID: account.id)[.test] == Balance(total: 10, held: 0))
            } catch {
                for store in stores { try? await store.close() }
                throw error
            }
            for store in stores { try await store.close() }
        }
    }

    /// (daily limit, credits in jobs' worth): which of the two runs out first decides how many are created.
    @Test(arguments: [(7, 100), (12, 10)])
    func concurrentSubmissionsFromReplicasKeepTheLimitAndTheBalance(limit: Int, affordable: Int) async throws {
        try await PostgresFixture.withReplicas(4) { stores in
            let price = Catalog.standard.model("sora-2")!.credits
            let (account, key) = try await Fixture.funded(stores[0], credits: affordable * price + price / 2, limit: limit)
            let outcomes = try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
                for index in 0..<40 {
                    let store = stores[index % stores.count]
                    group.addTask { try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account)) }
                }
                return try await group.reduce(into: [SubmitOutcome]()) { $0.append($1) }
            }
            let created = outcomes.compactMap(\.createdJob)
            #expect(created.count == min(limit, affordable))
            #expect(outcomes.filter { $0.refusal?.code == .insufficientCredits }.count == max(0, limit - affordable))
            #expect(outcomes.filter { $0.refusal?.code == .rateLimitExceeded }.count == 40 - limit)
            #expect(try await stores[1].quota(keyID: key.id, limit: limit, at: Fixture.now).used == limit)

            let balance = try #require(try await stores[2].balances(accountID: account.id)[.test])
            #expect(balance.held == created.count * price && balance.total - balance.held >= 0)
            let holds = try await stores[3].ledger(accountID: account.id, limit: 100, before: nil).filter { $0.kind == .hold }
            #expect(holds.count == created.count && holds.map(\.amount).reduce(0, +) == balance.held)
            #expect(holds.allSatisfy { $0.balanceAfter.held <= $0.balanceAfter.total })
            #expect(try await stores[0].jobs(accountID: account.id, status: nil, limit: 100, before: nil).count == created.count)
        }
    }

    @Test func concurrentClaimersOnReplicasNeverShareAJob() async throws {
        try await PostgresFixture.withReplicas(4) { stores in
            let (_, jobs) = try await QueueContractTests.seed(stores[0], jobs: 40)
            let t = Fixture.now.addingTimeInterval(1)
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<8 {
                    let store = stores[worker % stores.count]
                    group.addTask {
                        var mine: [String] = []
                        for _ in 0..<10 {
                            mine += try await store.claimJobs(owner: "w\(worker)", limit: 3, now: t, leaseUntil: t.addingTimeInterval(30)).map(\.id)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claims.count == jobs.count)
            #expect(Set(claims) == Set(jobs.map(\.id)))
        }
    }

    /// The same `Idempotency-Key` sent at once to several replicas, through six keys of the account
    /// (so they do not simply queue on one key's row): one job, every other answer a replay of it.
    @Test func oneIdempotencyKeyFromSeveralReplicasCreatesOneJob() async throws {
        try await PostgresFixture.withReplicas(4) { stores in
            let (account, firstKey) = try await Fixture.funded(stores[0], credits: 1_000_000, limit: 1000)
            var keys = [firstKey]
            for _ in 1..<6 {
                keys.append(Fixture.key(for: account))
                try await stores[0].createKey(keys[keys.count - 1])
            }
            let outcomes = try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
                for index in 0..<24 {
                    let store = stores[index % stores.count]
                    let key = keys[index % keys.count]
                    group.addTask {
                        try await store.submit(
                            Fixture.command(Fixture.job(for: account, key: key), key: key, account: account, idempotencyKey: "once", hash: "A"))
                    }
                }
                return try await group.reduce(into: [SubmitOutcome]()) { $0.append($1) }
            }
            let created = outcomes.compactMap(\.createdJob)
            #expect(created.count == 1)
            let replayed = outcomes.compactMap { outcome -> String? in if case .replayed(let job, _) = outcome { job.id } else { nil } }
            #expect(replayed.count == outcomes.count - 1 && Set(replayed) == Set(created.map(\.id)))
            #expect(try await stores[1].jobs(accountID: account.id, status: nil, limit: 100, before: nil).count == 1)
            #expect(try await stores[2].balances(accountID: account.id)[.test]?.held == created.first?.creditsReserved)
            var used = 0
            for key in keys { used += try await stores[3].quota(keyID: key.id, limit: 1000, at: Fixture.now).used }
            #expect(used == 1)
        }
    }
}
