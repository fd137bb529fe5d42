import Foundation
import VideogateDomain
import VideogateStorage

/// The operator's actions, shared by the admin HTTP API and the CLI: input checks, then one store call.
public struct AdminActions: Sendable {
    public let store: any GatewayStore
    public let clock: any WallClock

    public init(store: any GatewayStore, clock: any WallClock = SystemWallClock()) {
        self.store = store
        self.clock = clock
    }

    /// Creates an account with zero balances and a webhook secret. `dailyLimit` is for enterprise plans only.
    public func createAccount(name: String, plan: Plan, dailyLimit: Int?) async throws -> Account {
        // At most 200 code points as sent (JSON Schema's maxLength counts code points), and not blank.
        let sent = name
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, sent.unicodeScalars.count <= 200 else {
            throw GatewayError(.invalidParameter, "name must be 1 to 200 characters.", param: "name")
        }
        let limit = try Self.dailyLimit(plan: plan, requested: dailyLimit, current: nil)
        let account = Account(
            id: Identifier.make("acct", at: clock.now()), name: name, plan: plan, dailyLimit: limit,
            webhookSecret: Self.newWebhookSecret(), createdAt: clock.now())
        try await store.createAccount(account)
        return account
    }

    /// Changes plan and/or daily limit. Moving to free or pro sets the plan's limit.
    public func updateAccount(id: String, plan: Plan?, dailyLimit: Int?) async throws -> Account {
        guard let current = try await store.account(id: id) else { throw Self.noAccount }
        let newPlan = plan ?? current.plan
        let limit = try Self.dailyLimit(plan: newPlan, requested: dailyLimit, current: current)
        guard let updated = try await store.updateAccount(id: id, plan: newPlan, dailyLimit: limit) else { throw Self.noAccount }
        return updated
    }

    /// Creates a key and returns it with its secret, which is never shown again. `spendLimitDaily`:
    /// credits per rolling 24 hours (`SpendLimit`), nil for none.
    public func createKey(
        accountID: String, environment: KeyEnvironment, name: String?, spendLimitDaily: Int? = nil
    ) async throws -> (key: APIKey, secret: String) {
        if let name, name.unicodeScalars.count > 200 { throw GatewayError(.invalidParameter, "name must be at most 200 characters.", param: "name") }
        try Self.checkSpendLimit(spendLimitDaily)
        let secret = KeyFormat.newSecret(environment)
        let key = APIKey(
            id: Identifier.make("key", at: clock.now()), accountID: accountID, environment: environment, name: name,
            prefix: String(secret.prefix(12)), hash: SecretHash.hex(secret), createdAt: clock.now(), revokedAt: nil,
            spendLimitDaily: spendLimitDaily)
        do {
            try await store.createKey(key)
        } catch StoreError.notFound {
            throw Self.noAccount
        }
        return (key, secret)
    }

    /// Revokes a key from the next request on.
    public func revokeKey(id: String) async throws {
        guard try await store.revokeKey(id: id, at: clock.now()) else {
            throw Self.noKey
        }
    }

    /// Sets a key's daily spend limit, or removes it (nil); it applies from the key's next submission.
    public func setSpendLimit(keyID: String, spendLimitDaily: Int?) async throws -> APIKey {
        try Self.checkSpendLimit(spendLimitDaily)
        guard let key = try await store.setSpendLimit(keyID: keyID, spendLimitDaily: spendLimitDaily) else { throw Self.noKey }
        return key
    }

    /// Adds credits (negative removes, never below what is held); returns both balances.
    public func addCredits(accountID: String, environment: KeyEnvironment, amount: Int, reason: String?) async throws -> [KeyEnvironment: Balance] {
        guard amount != 0, abs(amount) <= 1_000_000_000_000 else {
            throw GatewayError(.invalidParameter, "amount must be a non-zero integer.", param: "amount")
        }
        do {
            _ = try await store.grant(accountID: accountID, environment: environment, amount: amount, reason: reason, at: clock.now())
        } catch StoreError.notFound {
            throw Self.noAccount
        } catch StoreError.wouldGoBelowHeld(let balance) {
            throw GatewayError(
                .invalidParameter,
                "Removing \(-amount) credits would leave less than the \(balance.held) held by unfinished jobs (balance \(balance.total)).",
                param: "amount")
        }
        return try await store.balances(accountID: accountID)
    }

    /// Replaces the account's webhook secret.
    public func rotateWebhookSecret(accountID: String) async throws -> Account {
        guard let account = try await store.rotateWebhookSecret(accountID: accountID, secret: Self.newWebhookSecret()) else {
            throw Self.noAccount
        }
        return account
    }

    public static func newWebhookSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "whsec_" + Data(bytes).base64EncodedString()
    }

    static let noAccount = GatewayError(.notFound, "No account with this id exists.")
    static let noKey = GatewayError(.notFound, "No key with this id exists.")

    static func checkSpendLimit(_ limit: Int?) throws(GatewayError) {
        guard let limit else { return }
        guard limit >= 0, limit <= SpendLimit.maxLimit else {
            throw GatewayError(
                .invalidParameter, "spend_limit_daily must be an integer from 0 to \(SpendLimit.maxLimit), or null for no limit.",
                param: "spend_limit_daily")
        }
    }

    static func dailyLimit(plan: Plan, requested: Int?, current: Account?) throws(GatewayError) -> Int {
        if let requested {
            guard plan == .enterprise else {
                throw GatewayError(
                    .invalidParameter, "daily_limit can be set for enterprise accounts only; free and pro have 100 and 1000.",
                    param: "daily_limit")
            }
            guard requested >= 1, requested <= 100_000_000 else {
                throw GatewayError(.invalidParameter, "daily_limit must be from 1 to 100000000.", param: "daily_limit")
            }
            return requested
        }
        if plan == .enterprise, let current, current.plan == .enterprise { return current.dailyLimit }
        return plan.defaultDailyLimit
    }
}
