import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    public func setSpendLimit(keyID: String, spendLimitDaily: Int?) async throws -> APIKey? {
        try await pool.write { db in
            try db.run(sql: "UPDATE api_keys SET spend_limit_daily = ? WHERE id = ?", arguments: [spendLimitDaily, keyID])
            guard db.changesCount > 0 else { return nil }
            return try db.row(sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [keyID]).map(APIKey.init(row:))
        }
    }

    public func keySpend(keyID: String, at now: Date) async throws -> KeySpend {
        try readSnapshot { db in
            let limit = try db.row(sql: "SELECT spend_limit_daily FROM api_keys WHERE id = ?", arguments: [keyID])?["spend_limit_daily"] as Int?
            return KeySpend(limit: limit, spent: try self.spent(db, keyID: keyID, now: now))
        }
    }

    /// The refusal of a submission by its key's spend limit, nil when it fits. Runs inside the submit
    /// transaction, which SQLite serializes with every other write (from any process on the file),
    /// so the limit and the sum read here are those the hold is stored against.
    func spendLimitRefusal(_ db: Database, job: Job, now: Date) throws -> GatewayError? {
        // A key without a limit costs one primary-key read, not the sum.
        guard let row = try db.row(sql: "SELECT spend_limit_daily FROM api_keys WHERE id = ?", arguments: [job.keyID]),
            let limit = row["spend_limit_daily"] as Int?
        else { return nil }
        return SpendLimit.refusal(price: job.creditsReserved, spent: try spent(db, keyID: job.keyID, now: now), limit: limit)
    }

    /// Credits held or charged for the key's jobs created within the window before `now`: the price of
    /// unfinished jobs, the charge of completed ones, nothing for those that ended in `error`.
    func spent(_ db: Database, keyID: String, now: Date) throws -> Int {
        try db.value(
            Int.self,
            sql: """
                SELECT COALESCE(SUM(CASE status WHEN 'completed' THEN credits_used WHEN 'error' THEN 0 ELSE credits_reserved END), 0)
                FROM jobs WHERE key_id = ? AND created_at > ?
                """,
            arguments: [keyID, StoreCoding.millis(SpendLimit.windowStart(at: now))]) ?? 0
    }
}
