import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

/// The key's daily spend limit, decided in the submit transaction (`SpendLimit`), on each store kind.
@Suite("Store contract: spend limit per key")
struct SpendLimitContractTests {
    /// sora-2, the fixture's model.
    static let price = 3500

    /// An account with plenty of credits and a key limited to `limit`.
    static func limitedKey(_ store: any GatewayStore, limit: Int?) async throws -> (Account, APIKey) {
        let account = Fixture.account(limit: 100_000)
        try await store.createAccount(account)
        var key = Fixture.key(for: account)
        key.spendLimitDaily = limit
        try await store.createKey(key)
        _ = try await store.grant(accountID: account.id, environment: .test, amount: 1_000_000, reason: nil, at: Fixture.now)
        return (account, key)
    }

    static func submit(_ store: any GatewayStore, _ account: Account, _ key: APIKey, at time: Date = Fixture.now) async throws -> SubmitOutcome {
        try await store.submit(Fixture.command(Fixture.job(for: account, key: key, at: time), key: key, account: account, at: time))
    }

    @Test(arguments: StoreKind.allCases)
    func theLimitIsReachedExactlyAtItsBoundaryAndRefusalsHoldNothing(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Self.limitedKey(store, limit: 2 * Self.price)
            #expect(try await store.authenticate(keyHash: key.hash, at: Fixture.now)?.key.spendLimitDaily == 2 * Self.price)
            #expect(try await Self.submit(store, account, key).createdJob != nil)
            #expect(try await Self.submit(store, account, key).createdJob != nil)
            #expect(try await store.keySpend(keyID: key.id, at: Fixture.now) == KeySpend(limit: 7000, spent: 7000))
            let refused = try await Self.submit(store, account, key)
            #expect(refused.refusal?.code == .spendLimitExceeded && refused.refusal?.status == 402)
            // Refused after the count, like every refusal by a check: counted, nothing held.
            #expect(refused.quota.used == 3)
            #expect(try await store.balances(accountID: account.id)[.test] == Balance(total: 1_000_000, held: 7000))
            #expect(try await store.jobs(accountID: account.id, status: nil, limit: 10, before: nil).count == 2)
            // One credit short of the next job: still refused; exactly enough: accepted.
            #expect(try await store.setSpendLimit(keyID: key.id, spendLimitDaily: 3 * Self.price - 1)?.spendLimitDaily == 10_499)
            #expect(try await Self.submit(store, account, key).refusal?.code == .spendLimitExceeded)
            _ = try await store.setSpendLimit(keyID: key.id, spendLimitDaily: 3 * Self.price)
            #expect(try await Self.submit(store, account, key).createdJob != nil)
            // Removed: no limit at all.
            let unlimited = try #require(try await store.setSpendLimit(keyID: key.id, spendLimitDaily: nil))
            #expect(unlimited.spendLimitDaily == nil && unlimited.id == key.id && unlimited.accountID == account.id && unlimited.revokedAt == nil)
            #expect(try await Self.submit(store, account, key).createdJob != nil)
            #expect(try await store.keySpend(keyID: key.id, at: Fixture.now) == KeySpend(limit: nil, spent: 4 * Self.price))
            // A limit of 0 refuses everything.
            _ = try await store.setSpendLimit(keyID: key.id, spendLimitDaily: 0)
            #expect(try await Self.submit(store, account, key).refusal?.code == .spendLimitExceeded)
            #expect(try await store.setSpendLimit(keyID: "key_missing", spendLimitDaily: 5) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func releasedJobsCountNothingAndCompletedOnesTheirCharge(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Self.limitedKey(store, limit: 2 * Self.price)
            let first = try #require(try await Self.submit(store, account, key).createdJob)
            let second = try #require(try await Self.submit(store, account, key).createdJob)
            let t = Fixture.now.addingTimeInterval(1)
            let claimed = try await store.claimJobs(owner: "w", limit: 2, now: t, leaseUntil: t.addingTimeInterval(30))
            let failed = try #require(claimed.first { $0.id == first.id })
            let completed = try #require(claimed.first { $0.id == second.id })
            #expect(try await store.applyClaimed(
                try JobStateMachine.apply(.failed(JobFailure(.providerError, "gone")), to: failed, now: t, videoTTL: 60), at: t))
            let result = JobResult(
                videoKey: "\(completed.id).mp4", thumbnailKey: nil, videoBytes: 10, durationMilliseconds: 4000, width: 1280, height: 720)
            #expect(try await store.applyClaimed(try JobStateMachine.apply(.succeeded(result), to: completed, now: t, videoTTL: 60), at: t))
            #expect(try await store.keySpend(keyID: key.id, at: t) == KeySpend(limit: 7000, spent: Self.price))
            // The released job's price is free again: one more fits, then none.
            #expect(try await Self.submit(store, account, key, at: t).createdJob != nil)
            #expect(try await Self.submit(store, account, key, at: t).refusal?.code == .spendLimitExceeded)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aJobCountsForTwentyFourHoursAfterItsCreation(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Self.limitedKey(store, limit: Self.price)
            #expect(try await Self.submit(store, account, key).createdJob != nil)
            let almost = Fixture.now.addingTimeInterval(SpendLimit.window - 1)
            #expect(try await Self.submit(store, account, key, at: almost).refusal?.code == .spendLimitExceeded)
            #expect(try await store.keySpend(keyID: key.id, at: almost).spent == Self.price)
            let day = Fixture.now.addingTimeInterval(SpendLimit.window)
            #expect(try await store.keySpend(keyID: key.id, at: day).spent == 0)
            #expect(try await Self.submit(store, account, key, at: day).createdJob != nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func otherKeysOfTheAccountHaveTheirOwnLimit(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Self.limitedKey(store, limit: Self.price)
            var other = Fixture.key(for: account)
            other.spendLimitDaily = Self.price
            try await store.createKey(other)
            #expect(try await Self.submit(store, account, key).createdJob != nil)
            #expect(try await Self.submit(store, account, other).createdJob != nil)
            #expect(try await Self.submit(store, account, key).refusal?.code == .spendLimitExceeded)
        }
    }

    /// 40 submissions at once against a limit that allows exactly 7.
    @Test(arguments: StoreKind.allCases)
    func concurrentSubmissionsStopExactlyAtTheLimit(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Self.limitedKey(store, limit: 7 * Self.price + Self.price - 1)
            let outcomes = try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
                for _ in 0..<40 { group.addTask { try await Self.submit(store, account, key) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            Self.expectSevenOf40(outcomes)
            #expect(try await store.balances(accountID: account.id)[.test] == Balance(total: 1_000_000, held: 7 * Self.price))
            #expect(try await store.quota(keyID: key.id, limit: 100_000, at: Fixture.now).used == 40)
        }
    }

    static func expectSevenOf40(_ outcomes: [SubmitOutcome]) {
        #expect(outcomes.count == 40)
        #expect(outcomes.filter { $0.createdJob != nil }.count == 7)
        #expect(outcomes.filter { $0.refusal?.code == .spendLimitExceeded }.count == 33)
    }
}

/// The same race across replicas: four `PostgresStore`s (each its own pool, as four API processes)
/// on one database, submitting for one key at once.
@Suite("PostgreSQL: spend limit across replicas", .enabled(if: PostgresFixture.isAvailable))
struct PostgresSpendLimitReplicaTests {
    @Test func fortySubmissionsFromFourReplicasStopExactlyAtTheLimit() async throws {
        try await PostgresFixture.withReplicas(4) { stores in
            let price = SpendLimitContractTests.price
            let (account, key) = try await SpendLimitContractTests.limitedKey(stores[0], limit: 7 * price)
            let outcomes = try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
                for index in 0..<40 {
                    let store = stores[index % stores.count]
                    group.addTask { try await SpendLimitContractTests.submit(store, account, key) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            SpendLimitContractTests.expectSevenOf40(outcomes)
            #expect(try await stores[1].balances(accountID: account.id)[.test] == Balance(total: 1_000_000, held: 7 * price))
            let held = try await stores[2].withSession { db in
                try await db.value(Int.self, "SELECT COALESCE(SUM(credits_reserved), 0)::bigint FROM jobs WHERE key_id = \(key.id)")
            }
            #expect(held == 7 * price)
        }
    }
}
