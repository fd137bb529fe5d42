import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

/// The stores the contract suite runs against. PostgreSQL joins this list when it exists.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    var testDescription: String { rawValue }

    /// A fresh, migrated store; `cleanup` removes what it made.
    func make() async throws -> (store: any GatewayStore, cleanup: @Sendable () -> Void) {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path)
            try await store.migrate()
            return (store, { try? FileManager.default.removeItem(at: directory) })
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
