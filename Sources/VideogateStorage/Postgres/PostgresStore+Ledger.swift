import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    public func balances(accountID: String) async throws -> [KeyEnvironment: Balance] {
        try await withSession { db in
            var result: [KeyEnvironment: Balance] = [.live: .zero, .test: .zero]
            for row in try await db.rows("SELECT environment, total, held FROM balances WHERE account_id = \(accountID)") {
                result[try row.makeRandomAccess().enumValue("environment")] = try Balance(row: row)
            }
            return result
        }
    }

    public func grant(accountID: String, environment: KeyEnvironment, amount: Int, reason: String?, at: Date) async throws -> Balance {
        try await transaction { db in
            // A conditional update: it waits for the row lock of any concurrent change of this balance
            // and then checks the condition against the committed figures.
            guard
                let row = try await db.row("""
                    UPDATE balances SET total = total + \(amount)
                    WHERE account_id = \(accountID) AND environment = \(environment.rawValue) AND total + \(amount) >= held
                    RETURNING total, held
                    """)
            else {
                guard
                    let current = try await db.row("""
                        SELECT total, held FROM balances WHERE account_id = \(accountID) AND environment = \(environment.rawValue)
                        """)
                else { throw StoreError.notFound }
                throw StoreError.wouldGoBelowHeld(try Balance(row: current))
            }
            let balance = try Balance(row: row)
            try await insertLedgerEntry(
                db, accountID: accountID, environment: environment, kind: .grant, amount: amount, jobID: nil, reason: reason,
                after: balance, at: at)
            return balance
        }
    }

    public func ledger(accountID: String, limit: Int, before: String?) async throws -> [LedgerEntry] {
        // Write order (`seq`), not the id: entries written in the same millisecond keep their order.
        try await withSession { db in
            try await db.rows("""
                SELECT * FROM ledger_entries
                WHERE account_id = \(accountID)
                  AND (\(before)::text IS NULL OR seq < (SELECT seq FROM ledger_entries WHERE id = \(before)))
                ORDER BY seq DESC LIMIT \(limit)
                """
            ).map(LedgerEntry.init(row:))
        }
    }

    /// Applies a job's hold or settlement to its balance, writes the ledger line and keeps the usage
    /// rollup (`recordUsage`), in the caller's transaction: every path that creates or ends a job goes
    /// through here. Returns nil when a hold does not fit the available credits.
    ///
    /// Each is one conditional UPDATE of the balance row: it takes the row's lock, so concurrent
    /// holds on one balance are decided one after the other on committed figures and the available
    /// balance never goes below zero.
    func applyLedger(_ db: PostgresSession, job: Job, kind: LedgerEntryKind, at: Date) async throws -> Balance? {
        let amount = job.creditsReserved
        let environment = job.environment.rawValue
        let query: PostgresQuery
        switch kind {
        case .hold:
            query = """
                UPDATE balances SET held = held + \(amount)
                WHERE account_id = \(job.accountID) AND environment = \(environment) AND total - held >= \(amount)
                RETURNING total, held
                """
        case .capture:
            query = """
                UPDATE balances SET total = total - \(amount), held = held - \(amount)
                WHERE account_id = \(job.accountID) AND environment = \(environment)
                RETURNING total, held
                """
        case .release:
            query = """
                UPDATE balances SET held = held - \(amount)
                WHERE account_id = \(job.accountID) AND environment = \(environment)
                RETURNING total, held
                """
        case .grant:
            preconditionFailure("grants are not job ledger effects")
        }
        guard let row = try await db.row(query) else { return nil }
        let balance = try Balance(row: row)
        try await insertLedgerEntry(
            db, accountID: job.accountID, environment: job.environment, kind: kind, amount: kind == .hold ? amount : -amount, jobID: job.id,
            reason: nil, after: balance, at: at)
        try await recordUsage(db, kind: kind, job: job, amount: amount)
        return balance
    }

    func insertLedgerEntry(
        _ db: PostgresSession, accountID: String, environment: KeyEnvironment, kind: LedgerEntryKind, amount: Int, jobID: String?,
        reason: String?, after: Balance, at: Date
    ) async throws {
        try await db.run("""
            INSERT INTO ledger_entries (id, account_id, environment, kind, amount, job_id, reason, total_after, held_after, created_at)
            VALUES (\(Identifier.make("led", at: at)), \(accountID), \(environment.rawValue), \(kind.rawValue), \(amount), \(jobID), \(reason),
                    \(after.total), \(after.held), \(StoreCoding.millis(at)))
            """)
    }
}
