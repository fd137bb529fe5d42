import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    public func createAccount(_ account: Account) async throws {
        try await pool.write { db in
            try db.run(sql: """
                    INSERT INTO accounts (id, name, plan, daily_limit, webhook_secret, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    account.id, account.name, account.plan.rawValue, account.dailyLimit, account.webhookSecret,
                    StoreCoding.millis(account.createdAt),
                ])
            for environment in KeyEnvironment.allCases {
                try db.run(sql: "INSERT INTO balances (account_id, environment, total, held) VALUES (?, ?, 0, 0)",
                    arguments: [account.id, environment.rawValue])
            }
        }
    }

    public func account(id: String) async throws -> Account? {
        try read { db in
            try db.row(sql: "SELECT * FROM accounts WHERE id = ?", arguments: [id]).map(Account.init(row:))
        }
    }

    public func hasAccounts() async throws -> Bool {
        try read { db in try db.value(Bool.self, sql: "SELECT EXISTS (SELECT 1 FROM accounts)") ?? false }
    }

    public func updateAccount(id: String, plan: Plan?, dailyLimit: Int?) async throws -> Account? {
        try await pool.write { db in
            try db.run(sql: "UPDATE accounts SET plan = COALESCE(?, plan), daily_limit = COALESCE(?, daily_limit) WHERE id = ?",
                arguments: [plan?.rawValue, dailyLimit, id])
            return try db.row(sql: "SELECT * FROM accounts WHERE id = ?", arguments: [id]).map(Account.init(row:))
        }
    }

    public func rotateWebhookSecret(accountID: String, secret: String) async throws -> Account? {
        try await pool.write { db in
            try db.run(sql: "UPDATE accounts SET webhook_secret = ? WHERE id = ?", arguments: [secret, accountID])
            return try db.row(sql: "SELECT * FROM accounts WHERE id = ?", arguments: [accountID]).map(Account.init(row:))
        }
    }

    public func createKey(_ key: APIKey) async throws {
        try await pool.write { db in
            guard try db.value(Bool.self, sql: "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?)", arguments: [key.accountID]) == true
            else { throw StoreError.notFound }
            try db.run(sql: """
                    INSERT INTO api_keys (id, account_id, environment, name, prefix, hash, created_at, revoked_at, spend_limit_daily)
                    VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)
                    """,
                arguments: [
                    key.id, key.accountID, key.environment.rawValue, key.name, key.prefix, key.hash, StoreCoding.millis(key.createdAt),
                    key.spendLimitDaily,
                ])
        }
    }

    public func authenticate(keyHash: String, at now: Date, jobID: String?, withQuota: Bool) async throws -> AuthenticatedKey? {
        try readSnapshot { db in
            guard
                let row = try db.row(sql: """
                        SELECT k.id AS key_id, k.environment, k.name AS key_name, k.prefix, k.hash, k.created_at AS key_created_at,
                               k.spend_limit_daily, a.id, a.name, a.plan, a.daily_limit, a.webhook_secret, a.created_at
                        FROM api_keys k JOIN accounts a ON a.id = k.account_id
                        WHERE k.hash = ? AND k.revoked_at IS NULL
                        """,
                    arguments: [keyHash])
            else { return nil }
            let account = try Account(row: row)
            let key = APIKey(
                id: row["key_id"], accountID: account.id, environment: try enumValue(row["environment"]), name: row["key_name"],
                prefix: row["prefix"], hash: row["hash"], createdAt: StoreCoding.date(row["key_created_at"] as Int64), revokedAt: nil,
                spendLimitDaily: row["spend_limit_daily"])
            let job = try jobID.flatMap { id in
                try db.row(sql: "SELECT \(JobColumns.list) FROM jobs WHERE id = ? AND account_id = ? AND environment = ?",
                    arguments: [id, account.id, key.environment.rawValue]
                ).map(Job.init(row:))
            }
            return AuthenticatedKey(
                key: key, account: account, quota: withQuota ? try quota(db, keyID: key.id, limit: account.dailyLimit, now: now) : nil,
                job: job)
        }
    }

    public func revokeKey(id: String, at: Date) async throws -> Bool {
        try await pool.write { db in
            try db.run(sql: "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [StoreCoding.millis(at), id])
            return db.changesCount > 0
        }
    }
}
