import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    public func createAccount(_ account: Account) async throws {
        try await transaction { db in
            try await db.run("""
                INSERT INTO accounts (id, name, plan, daily_limit, webhook_secret, created_at)
                VALUES (\(account.id), \(account.name), \(account.plan.rawValue), \(account.dailyLimit), \(account.webhookSecret),
                        \(StoreCoding.millis(account.createdAt)))
                """)
            for environment in KeyEnvironment.allCases {
                try await db.run("INSERT INTO balances (account_id, environment, total, held) VALUES (\(account.id), \(environment.rawValue), 0, 0)")
            }
        }
    }

    public func account(id: String) async throws -> Account? {
        try await withSession { db in
            try await db.row("SELECT * FROM accounts WHERE id = \(id)").map(Account.init(row:))
        }
    }

    public func hasAccounts() async throws -> Bool {
        try await withSession { db in try await db.value(Bool.self, "SELECT EXISTS (SELECT 1 FROM accounts)") ?? false }
    }

    public func updateAccount(id: String, plan: Plan?, dailyLimit: Int?) async throws -> Account? {
        try await withSession { db in
            try await db.row("""
                UPDATE accounts SET plan = COALESCE(\(plan?.rawValue)::text, plan), daily_limit = COALESCE(\(dailyLimit)::bigint, daily_limit)
                WHERE id = \(id)
                RETURNING *
                """
            ).map(Account.init(row:))
        }
    }

    public func rotateWebhookSecret(accountID: String, secret: String) async throws -> Account? {
        try await withSession { db in
            try await db.row("UPDATE accounts SET webhook_secret = \(secret) WHERE id = \(accountID) RETURNING *").map(Account.init(row:))
        }
    }

    public func createKey(_ key: APIKey) async throws {
        // Accounts are never deleted, so the account found here is still there at the commit.
        let inserted = try await withSession { db in
            try await db.row("""
                INSERT INTO api_keys (id, account_id, environment, name, prefix, hash, created_at, revoked_at, spend_limit_daily)
                SELECT \(key.id), id, \(key.environment.rawValue), \(key.name), \(key.prefix), \(key.hash), \(StoreCoding.millis(key.createdAt)),
                       NULL, \(key.spendLimitDaily)
                FROM accounts WHERE id = \(key.accountID)
                RETURNING id
                """) != nil
        }
        guard inserted else { throw StoreError.notFound }
    }

    public func authenticate(keyHash: String, at now: Date, jobID: String?, withQuota: Bool) async throws -> AuthenticatedKey? {
        // The key, its account and (when asked) the key's quota in one statement; the job in a second
        // one on the same connection. Like SQLite's, the quota here is advisory: `submit` decides again.
        try await withSession { db in
            guard
                let raw = try await db.row("""
                    SELECT k.id AS key_id, k.environment, k.name AS key_name, k.prefix, k.hash, k.created_at AS key_created_at,
                           k.spend_limit_daily, a.id, a.name, a.plan, a.daily_limit, a.webhook_secret, a.created_at, q.used, q.oldest
                    FROM api_keys k
                    JOIN accounts a ON a.id = k.account_id
                    CROSS JOIN LATERAL (
                        SELECT COALESCE(SUM(count), 0)::bigint AS used, MIN(bucket) AS oldest FROM quota_buckets
                        WHERE \(withQuota) AND key_id = k.id AND bucket >= \(QuotaWindow.firstBucket(at: now))
                    ) q
                    WHERE k.hash = \(keyHash) AND k.revoked_at IS NULL
                    """)
            else { return nil }
            let account = try Account(row: raw)
            let row = raw.makeRandomAccess()
            let key = APIKey(
                id: try row.value("key_id"), accountID: account.id, environment: try row.enumValue("environment"), name: try row.value("key_name"),
                prefix: try row.value("prefix"), hash: try row.value("hash"), createdAt: try row.date("key_created_at"), revokedAt: nil,
                spendLimitDaily: try row.value("spend_limit_daily"))
            let quota = QuotaStatus(
                limit: account.dailyLimit, used: try row.value("used"),
                resetAt: try row.value("oldest", as: Int64?.self).map(QuotaWindow.expiry(ofBucket:)) ?? now)
            var job: Job?
            if let jobID {
                job = try await db.row("""
                    SELECT \(unescaped: JobColumns.list) FROM jobs
                    WHERE id = \(jobID) AND account_id = \(account.id) AND environment = \(key.environment.rawValue)
                    """
                ).map(Job.init(row:))
            }
            return AuthenticatedKey(key: key, account: account, quota: withQuota ? quota : nil, job: job)
        }
    }

    public func revokeKey(id: String, at: Date) async throws -> Bool {
        try await withSession { db in
            try await db.row("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(StoreCoding.millis(at))) WHERE id = \(id) RETURNING id") != nil
        }
    }
}
