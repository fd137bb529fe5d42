import Foundation
import GRDB
import VideogateDomain

/// The operator console's reads and its sessions.
extension SQLiteStore {
    public func accounts(limit: Int, before: String?) async throws -> [Account] {
        try read { db in
            try db.rows(
                sql: "SELECT * FROM accounts WHERE (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?", arguments: [before, before, limit]
            ).map(Account.init(row:))
        }
    }

    public func keys(accountID: String) async throws -> [APIKey] {
        try read { db in
            try db.rows(sql: "SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at DESC, id DESC", arguments: [accountID])
                .map(APIKey.init(row:))
        }
    }

    public func createConsoleSession(_ session: ConsoleSession) async throws {
        try await pool.write { db in
            try db.run(
                sql: "INSERT INTO console_sessions (id_hash, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [session.idHash, session.csrfToken, StoreCoding.millis(session.createdAt), StoreCoding.millis(session.expiresAt)])
        }
    }

    public func consoleSession(idHash: String, at: Date) async throws -> ConsoleSession? {
        try read { db in
            try db.row(
                sql: "SELECT * FROM console_sessions WHERE id_hash = ? AND expires_at > ?", arguments: [idHash, StoreCoding.millis(at)]
            ).map { row in
                ConsoleSession(
                    idHash: row["id_hash"], csrfToken: row["csrf_token"], createdAt: StoreCoding.date(row["created_at"] as Int64),
                    expiresAt: StoreCoding.date(row["expires_at"] as Int64))
            }
        }
    }

    public func deleteConsoleSession(idHash: String, at: Date) async throws {
        try await pool.write { db in
            try db.run(sql: "DELETE FROM console_sessions WHERE id_hash = ? OR expires_at <= ?", arguments: [idHash, StoreCoding.millis(at)])
        }
    }

    public func ledgerEntries(jobID: String) async throws -> [LedgerEntry] {
        try read { db in
            try db.rows(
                sql: """
                    SELECT * FROM ledger_entries WHERE job_id = ?1 AND kind = 'hold'
                    UNION ALL
                    SELECT * FROM ledger_entries WHERE job_id = ?1 AND kind IN ('capture', 'release')
                    """,
                arguments: [jobID]
            ).map(LedgerEntry.init(row:))
        }
    }

    public func redeliverWebhook(deliveryID: String, jobID: String, at: Date) async throws -> Bool {
        try await pool.write { db in
            try db.run(
                sql: """
                    UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?1, finished_at = NULL
                    WHERE id = ?2 AND job_id = ?3 AND (lease_expires_at IS NULL OR lease_expires_at <= ?1)
                    """,
                arguments: [StoreCoding.millis(at), deliveryID, jobID])
            return db.changesCount == 1
        }
    }
}
