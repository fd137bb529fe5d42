import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

/// The behaviour every `GatewayStore` must have, run on each store kind.
@Suite("Store contract")
struct StoreContractTests {
    @Test(arguments: StoreKind.allCases)
    func migrationsAreIdempotentAndSafeFromSeveralProcesses(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.migrate()
            try await store.ping()
            #expect(try await store.hasAccounts() == false)
            if kind == .sqlite {
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-mig-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                let path = directory.appendingPathComponent("db.sqlite").path
                let stores = try (0..<4).map { _ in try SQLiteStore(path: path) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for store in stores { group.addTask { try await store.migrate() } }
                    try await group.waitForAll()
                }
                for store in stores { try await store.close() }
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func accountsAndKeys(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let account = Fixture.account(plan: .free, limit: 100)
            try await store.createAccount(account)
            #expect(try await store.account(id: account.id) == account)
            #expect(try await store.balances(accountID: account.id) == [.live: .zero, .test: .zero])
            let key = Fixture.key(for: account)
            try await store.createKey(key)
            let found = try #require(try await store.authenticate(keyHash: key.hash, at: Fixture.now))
            #expect(found.key.id == key.id && found.account == account && found.quota?.used == 0 && found.quota?.limit == 100)
            #expect(try await store.authenticate(keyHash: key.hash, at: Fixture.now, jobID: nil, withQuota: false)?.quota == nil)
            #expect(try await store.authenticate(keyHash: "nope", at: Fixture.now) == nil)
            #expect(try await store.revokeKey(id: key.id, at: Fixture.now))
            #expect(try await store.authenticate(keyHash: key.hash, at: Fixture.now) == nil)
            #expect(try await store.revokeKey(id: "key_missing", at: Fixture.now) == false)
            await #expect(throws: StoreError.notFound) { try await store.createKey(Fixture.key(for: Fixture.account())) }
            let updated = try await store.updateAccount(id: account.id, plan: .enterprise, dailyLimit: 5000)
            #expect(updated?.plan == .enterprise && updated?.dailyLimit == 5000)
            #expect(try await store.updateAccount(id: "acct_missing", plan: .pro, dailyLimit: nil) == nil)
            #expect(try await store.rotateWebhookSecret(accountID: account.id, secret: "whsec_new")?.webhookSecret == "whsec_new")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func grantsAndTheLedger(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Fixture.funded(store, credits: 5000)
            _ = try #require(try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account)).createdJob)
            await #expect(throws: StoreError.wouldGoBelowHeld(Balance(total: 5000, held: 3500))) {
                _ = try await store.grant(accountID: account.id, environment: .test, amount: -1501, reason: nil, at: Fixture.now)
            }
            #expect(try await store.grant(accountID: account.id, environment: .test, amount: -1500, reason: "refund", at: Fixture.now) == Balance(total: 3500, held: 3500))
            await #expect(throws: StoreError.notFound) {
                _ = try await store.grant(accountID: "acct_missing", environment: .test, amount: 1, reason: nil, at: Fixture.now)
            }
            let entries = try await store.ledger(accountID: account.id, limit: 10, before: nil)
            #expect(entries.map(\.kind) == [.grant, .hold, .grant])
            #expect(entries[0].amount == -1500 && entries[0].reason == "refund" && entries[0].balanceAfter == Balance(total: 3500, held: 3500))
            let page = try await store.ledger(accountID: account.id, limit: 10, before: entries[0].id)
            #expect(page.map(\.id) == Array(entries.dropFirst()).map(\.id))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func submissionOutcomes(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Fixture.funded(store, credits: 4000, limit: 3)
            let job = Fixture.job(for: account, key: key)
            let created = try await store.submit(Fixture.command(job, key: key, account: account, idempotencyKey: "k1", hash: "A"))
            #expect(created.createdJob?.id == job.id && created.quota.used == 1)
            #expect(try await store.balances(accountID: account.id)[.test] == Balance(total: 4000, held: 3500))
            #expect(try await store.job(id: job.id, accountID: account.id, environment: .test) == job)
            #expect(try await store.job(id: job.id, accountID: "acct_other", environment: .test) == nil)
            #expect(try await store.authenticate(keyHash: key.hash, at: Fixture.now, jobID: job.id, withQuota: true)?.job == job)
            let (_, otherKey) = try await Fixture.funded(store, credits: 0)
            let other = try await store.authenticate(keyHash: otherKey.hash, at: Fixture.now, jobID: job.id, withQuota: true)
            #expect(other != nil && other?.job == nil)

            // Replay: the same job, nothing counted.
            let replay = try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account, idempotencyKey: "k1", hash: "A"))
            guard case .replayed(let replayed, let quota) = replay else { Issue.record("not a replay: \(replay)"); return }
            #expect(replayed.id == job.id && quota.used == 1)
            #expect(try await store.submit(Fixture.command(job, key: key, account: account, idempotencyKey: "k1", hash: "B")).refusal?.code == .idempotencyConflict)

            // Not enough credits: refused, but counted.
            let poor = try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account))
            #expect(poor.refusal?.code == .insufficientCredits && poor.quota.used == 2)
            // A failed body check: counted.
            let invalid = SubmitCommand(
                key: key, account: account, idempotencyKey: nil, requestHash: "", validation: .failure(GatewayError(.missingPrompt, "x")), now: Fixture.now)
            let refused = try await store.submit(invalid)
            #expect(refused.refusal?.code == .missingPrompt && refused.quota.used == 3)
            // The limit: refused with a retry delay, not counted.
            let limited = try await store.submit(invalid)
            #expect(limited.refusal?.code == .rateLimitExceeded && limited.quota.used == 3)
            #expect((limited.refusal?.retryAfter ?? 0) > 86_000)
            #expect(try await store.quota(keyID: key.id, limit: 3, at: Fixture.now).used == 3)
            // A day later the window is empty again.
            #expect(try await store.quota(keyID: key.id, limit: 3, at: Fixture.now.addingTimeInterval(86_460)).used == 0)
            #expect(try await store.jobs(accountID: account.id, status: nil, limit: 10, before: nil).count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentSubmissionsNeverOverdraw(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Fixture.funded(store, credits: 7 * 3500 + 3000, limit: 10_000)
            let created = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account)).createdJob != nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(created == 7)
            let balance = try #require(try await store.balances(accountID: account.id)[.test])
            #expect(balance == Balance(total: 27_500, held: 24_500))
            #expect(try await store.quota(keyID: key.id, limit: 10_000, at: Fixture.now).used == 50)
        }
    }
}
