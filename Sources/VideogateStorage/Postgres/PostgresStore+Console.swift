import Foundation
import PostgresNIO
import VideogateDomain

/// The operator console's reads and its sessions.
extension PostgresStore {
    public func accounts(limit: Int, before: String?) async throws -> [Account] {
        try await withSession { db in
            try await db.rows("""
                SELECT * FROM accounts WHERE (\(before)::text IS NULL OR id < \(before)::text) ORDER BY id DESC LIMIT \(limit)
                """
            ).map(Account.init(row:))
        }
    }

    public func keys(accountID: String) async throws -> [APIKey] {
        try await withSession { db in
            try await db.rows("SELECT * FROM api_keys WHERE account_id = \(accountID) ORDER BY created_at DESC, id DESC").map(APIKey.init(row:))
        }
    }

    public func createConsoleSession(_ session: ConsoleSession) async throws {
        try await withSession { db in
            try await db.run("""
                INSERT INTO console_sessions (id_hash, csrf_token, created_at, expires_at)
                VALUES (\(session.idHash), \(session.csrfToken), \(StoreCoding.millis(session.createdAt)), \(StoreCoding.millis(session.expiresAt)))
                """)
        }
    }

    public func consoleSession(idHash: String, at: Date) async throws -> ConsoleSession? {
        try await withSession { db in
            guard let raw = try await db.row("SELECT * FROM console_sessions WHERE id_hash = \(idHash) AND expires_at > \(StoreCoding.millis(at))")
            else { return nil }
            let row = raw.makeRandomAccess()
            return ConsoleSession(
                idHash: try row.value("id_hash"), csrfToken: try row.value("csrf_token"), createdAt: try row.date("created_at"),
                expiresAt: try row.date("expires_at"))
        }
    }

    public func deleteConsoleSession(idHash: String, at: Date) async throws {
        try await withSession { db in
            try await db.run("DELETE FROM console_sessions WHERE id_hash = \(idHash) OR expires_at <= \(StoreCoding.millis(at))")
        }
    }

    public func ledgerEntries(jobID: String) async throws -> [LedgerEntry] {
        try await withSession { db in
            try await db.rows("""
                SELECT * FROM ledger_entries WHERE job_id = \(jobID) AND kind = 'hold'
                UNION ALL
                SELECT * FROM ledger_entries WHERE job_id = \(jobID) AND kind IN ('capture', 'release')
                """
            ).map(LedgerEntry.init(row:))
        }
    }

    public func redeliverWebhook(deliveryID: String, jobID: String, at: Date) async throws -> Bool {
        try await withSession { db in
            try await db.value(
                String.self,
                """
                UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = \(StoreCoding.millis(at)), finished_at = NULL
                WHERE id = \(deliveryID) AND job_id = \(jobID)
                  AND (lease_expires_at IS NULL OR lease_expires_at <= \(StoreCoding.millis(at)))
                RETURNING id
                """) != nil
        }
    }
}
