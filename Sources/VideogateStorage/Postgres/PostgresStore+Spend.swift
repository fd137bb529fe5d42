import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    public func setSpendLimit(keyID: String, spendLimitDaily: Int?) async throws -> APIKey? {
        try await withSession { db in
            try await db.row("UPDATE api_keys SET spend_limit_daily = \(spendLimitDaily)::bigint WHERE id = \(keyID) RETURNING *")
                .map(APIKey.init(row:))
        }
    }

    public func keySpend(keyID: String, at now: Date) async throws -> KeySpend {
        try await withSession { db in
            let limit = try await db.row("SELECT spend_limit_daily FROM api_keys WHERE id = \(keyID)")?
                .makeRandomAccess().value("spend_limit_daily", as: Int?.self)
            return KeySpend(limit: limit, spent: try await self.spent(db, keyID: keyID, now: now))
        }
    }

    /// The refusal of a submission by its key's spend limit `limit`, nil when it fits. `submit` reads
    /// `limit` with the lock on the key's row that every submission of the key takes first, so under
    /// READ COMMITTED the sum here sees the jobs of every submission of the key that went before,
    /// from any replica.
    func spendLimitRefusal(_ db: PostgresSession, job: Job, limit: Int?, now: Date) async throws -> GatewayError? {
        guard let limit else { return nil }
        return SpendLimit.refusal(price: job.creditsReserved, spent: try await spent(db, keyID: job.keyID, now: now), limit: limit)
    }

    /// Credits held or charged for the key's jobs created within the window before `now`: the price of
    /// unfinished jobs, the charge of completed ones, nothing for those that ended in `error`.
    func spent(_ db: PostgresSession, keyID: String, now: Date) async throws -> Int {
        try await db.value(
            Int.self,
            """
            SELECT COALESCE(SUM(CASE status WHEN 'completed' THEN credits_used WHEN 'error' THEN 0 ELSE credits_reserved END), 0)::bigint
            FROM jobs WHERE key_id = \(keyID) AND created_at > \(StoreCoding.millis(SpendLimit.windowStart(at: now)))
            """) ?? 0
    }
}
