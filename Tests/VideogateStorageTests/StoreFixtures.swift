import Foundation
import Logging
import ProviderFakes
import Testing
import VideogateDomain
@testable import VideogateStorage

/// The stores the contract suite runs against: SQLite always, PostgreSQL when
/// `VIDEOGATE_TEST_POSTGRES_URL` names a cluster (`scripts/with-services`).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static var allCases: [StoreKind] { [.sqlite] + (TestPostgres.adminURL != nil ? [.postgres] : []) }

    var testDescription: String { rawValue }

    /// Runs `body` with a fresh, migrated store, then closes the store and removes what it made,
    /// whether `body` threw or not.
    func withStore<T>(_ body: (any GatewayStore) async throws -> T) async throws -> T {
        let (store, cleanup) = try await make()
        do {
            let value = try await body(store)
            await cleanup()
            return value
        } catch {
            await cleanup()
            throw error
        }
    }

    /// A fresh, migrated store, and what removes it.
    private func make() async throws -> (store: any GatewayStore, cleanup: @Sendable () async -> Void) {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path)
            try await store.migrate()
            return (store, {
                try? await store.close()
                try? FileManager.default.removeItem(at: directory)
            })
        case .postgres:
            let (url, drop) = try await TestPostgres.createDatabase()
            do {
                let store = try PostgresFixture.store(url: url)
                try await store.migrate()
                return (store, {
                    try? await store.close()
                    await drop()
                })
            } catch {
                await drop()
                throw error
            }
        }
    }
}

/// PostgreSQL stores for tests: each test's database is its own (`TestPostgres.createDatabase`).
enum PostgresFixture {
    static var isAvailable: Bool { TestPostgres.adminURL != nil }

    static let logger: Logger = {
        var logger = Logger(label: "videogate.tests.postgres")
        logger.logLevel = .warning
        return logger
    }()

    /// A store on `url`, not yet migrated; the caller closes it.
    static func store(url: String, poolSize: Int = 8) throws -> PostgresStore {
        try PostgresStore(url: url, poolSize: poolSize, logger: logger)
    }

    /// Runs `body` with the URL of a fresh, empty database, and drops the database afterwards.
    static func withDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        let (url, drop) = try await TestPostgres.createDatabase()
        do {
            let value = try await body(url)
            await drop()
            return value
        } catch {
            await drop()
            throw error
        }
    }

    /// Runs `body` with `count` stores on one fresh database (replicas of the application), the first
    /// one migrated; closes them and drops the database afterwards.
    static func withReplicas<T>(_ count: Int, _ body: ([PostgresStore]) async throws -> T) async throws -> T {
        try await withDatabase { url in
            let stores = try (0..<count).map { _ in try store(url: url, poolSize: 4) }
            do {
                try await stores[0].migrate()
                let value = try await body(stores)
                for store in stores { try? await store.close() }
                return value
            } catch {
                for store in stores { try? await store.close() }
                throw error
            }
        }
    }
}

/// Builders of domain values for store tests, at fixed times.
enum Fixture {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func account(_ name: String = "acct", plan: Plan = .pro, limit: Int = 1000) -> Account {
        Account(id: Identifier.make("acct"), name: name, plan: plan, dailyLimit: limit, webhookSecret: "whsec_x", createdAt: now)
    }

    static func key(for account: Account, environment: KeyEnvironment = .test) -> APIKey {
        APIKey(
            id: Identifier.make("key"), accountID: account.id, environment: environment, name: nil, prefix: "vg_test_abcd",
            hash: UUID().uuidString, createdAt: now, revokedAt: nil)
    }

    static func job(for account: Account, key: APIKey, model id: String = "sora-2", at time: Date = now, deadline: TimeInterval = 1800) -> Job {
        let model = Catalog.standard.model(id)!
        let submission = Submission(
            model: model, mode: model.mode, prompt: "p", image: nil, aspectRatio: .landscape, duration: model.defaultDuration,
            webhookURL: nil, metadata: ["k": "v"])
        return Job(
            id: Identifier.make("req", at: time), accountID: account.id, keyID: key.id, environment: key.environment, model: model,
            submission: submission, imageKey: nil, createdAt: time, deadlineAt: time.addingTimeInterval(deadline))
    }

    /// An account with a key and `credits` test credits.
    static func funded(_ store: any GatewayStore, credits: Int, limit: Int = 1000) async throws -> (Account, APIKey) {
        let account = account(limit: limit)
        try await store.createAccount(account)
        let key = key(for: account)
        try await store.createKey(key)
        if credits > 0 { _ = try await store.grant(accountID: account.id, environment: .test, amount: credits, reason: nil, at: now) }
        return (account, key)
    }

    static func command(_ job: Job, key: APIKey, account: Account, idempotencyKey: String? = nil, hash: String = "h", at time: Date = now) -> SubmitCommand {
        SubmitCommand(key: key, account: account, idempotencyKey: idempotencyKey, requestHash: hash, validation: .success(job), now: time)
    }
}

extension SubmitOutcome {
    var createdJob: Job? { if case .created(let job, _) = self { job } else { nil } }
    var refusal: GatewayError? { if case .refused(let error, _) = self { error } else { nil } }
    var quota: QuotaStatus {
        switch self {
        case .created(_, let quota), .replayed(_, let quota), .refused(_, let quota): quota
        }
    }
}

extension GatewayStore {
    /// Applies a transition under the claim its job was taken with (the token the claim wrote).
    func applyClaimed(_ transition: JobTransition, at: Date) async throws -> Bool {
        try await apply(transition, token: try #require(transition.job.leaseToken), at: at)
    }
}
