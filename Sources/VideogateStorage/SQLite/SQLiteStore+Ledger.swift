import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    public func balances(accountID: String) async throws -> [KeyEnvironment: Balance] {
        try read { db in
            var result: [KeyEnvironment: Balance] = [.live: .zero, .test: .zero]
            for row in try db.rows(sql: "SELECT environment, total, held FROM balances WHERE account_id = ?", arguments: [accountID]) {
                result[try enumValue(row["environment"])] = Balance(total: row["total"], held: row["held"])
            }
            return result
        }
    }

    public func grant(accountID: String, environment: KeyEnvironment, amount: Int, reason: String?, at: Date) async throws -> Balance {
        try await pool.write { db in
            guard
                let row = try db.row(sql: """
                        UPDATE balances SET total = total + ?
                        WHERE account_id = ? AND environment = ? AND total + ? >= held
                        RETURNING total, held
                        """,
                    arguments: [amount, accountID, environment.rawValue, amount])
            else {
                guard
                    let current = try db.row(sql: "SELECT total, held FROM balances WHERE account_id = ? AND environment = ?",
                        arguments: [accountID, environment.rawValue])
                else { throw StoreError.notFound }
                throw StoreError.wouldGoBelowHeld(Balance(total: current["total"], held: current["held"]))
            }
            let balance = Balance(total: row["total"], held: row["held"])
            try insertLedgerEntry(
                db, accountID: accountID, environment: environment, kind: .grant, amount: amount, jobID: nil, reason: reason,
                after: balance, at: at)
            return balance
        }
    }

    public func ledger(accountID: String, limit: Int, before: String?) async throws -> [LedgerEntry] {
        // Insertion order (rowid), not the id: entries written in the same millisecond keep their order.
        try read { db in
            try db.rows(
                sql: """
                    SELECT * FROM ledger_entries
                    WHERE account_id = ?1 AND (?2 IS NULL OR rowid < (SELECT rowid FROM ledger_entries WHERE id = ?2))
                    ORDER BY rowid DESC LIMIT ?3
                    """,
                arguments: [accountID, before, limit]
            ).map(LedgerEntry.init(row:))
        }
    }

    /// Applies a job's hold or settlement to its balance, writes the ledger line and keeps the usage
    /// rollup (`recordUsage`), in the caller's transaction: every path that creates or ends a job
    /// goes through here. Returns nil when a hold does not fit the available credits.
    func applyLedger(_ db: Database, job: Job, kind: LedgerEntryKind, at: Date) throws -> Balance? {
        let amount = job.creditsReserved
        let sql: String
        switch kind {
        case .hold:
            sql = """
                UPDATE balances SET held = held + ?1
                WHERE account_id = ?2 AND environment = ?3 AND total - held >= ?1
                RETURNING total, held
                """
        case .capture:
            sql = "UPDATE balances SET total = total - ?1, held = held - ?1 WHERE account_id = ?2 AND environment = ?3 RETURNING total, held"
        case .release:
            sql = "UPDATE balances SET held = held - ?1 WHERE account_id = ?2 AND environment = ?3 RETURNING total, held"
        case .grant:
            preconditionFailure("grants are not job ledger effects")
        }
        guard let row = try db.row(sql: sql, arguments: [amount, job.accountID, job.environment.rawValue]) else { return nil }
        let balance = Balance(total: row["total"], held: row["held"])
        let signed = kind == .hold ? amount : -amount
        try insertLedgerEntry(
            db, accountID: job.accountID, environment: job.environment, kind: kind, amount: signed, jobID: job.id, reason: nil,
            after: balance, at: at)
        try recordUsage(db, kind: kind, job: job, amount: amount)
        return balance
    }

    func insertLedgerEntry(
        _ db: Database, accountID: String, environment: KeyEnvironment, kind: LedgerEntryKind, amount: Int, jobID: String?,
        reason: String?, after: Balance, at: Date
    ) throws {
        try db.run(sql: """
                INSERT INTO ledger_entries (id, account_id, environment, kind, amount, job_id, reason, total_after, held_after, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                Identifier.make("led", at: at), accountID, environment.rawValue, kind.rawValue, amount, jobID, reason, after.total,
                after.held, StoreCoding.millis(at),
            ])
    }
}
