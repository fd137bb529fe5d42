import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    public func credentialHealth() async throws -> [CredentialHealth] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM credential_health ORDER BY name").map(CredentialHealth.init(row:)) }
    }

    /// SQLite runs one writer at a time: the read, the change and the write are one step.
    public func updateCredentialHealth(
        name: String, provider: String, at: Date, _ change: @escaping @Sendable (CredentialHealth) -> CredentialHealth?
    ) async throws -> CredentialHealth? {
        try await pool.write { db in
            let stored = try Row.fetchOne(db, sql: "SELECT * FROM credential_health WHERE name = ?", arguments: [name]).map(CredentialHealth.init(row:))
            guard let next = change(stored ?? CredentialHealth(name: name, provider: provider, updatedAt: at)) else { return nil }
            try db.execute(
                sql: """
                    INSERT INTO credential_health (name, provider, state, consecutive_failures, open_seconds, opened_until, probe_until,
                        last_error, last_failure_at, failures_total, successes_total, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET provider = excluded.provider, state = excluded.state,
                        consecutive_failures = excluded.consecutive_failures, open_seconds = excluded.open_seconds,
                        opened_until = excluded.opened_until, probe_until = excluded.probe_until, last_error = excluded.last_error,
                        last_failure_at = excluded.last_failure_at, failures_total = excluded.failures_total,
                        successes_total = excluded.successes_total, updated_at = excluded.updated_at
                    """,
                arguments: [
                    next.name, next.provider, next.state.rawValue, next.consecutiveFailures, next.openSeconds, StoreCoding.millis(next.openedUntil),
                    StoreCoding.millis(next.probeUntil), next.lastError, StoreCoding.millis(next.lastFailureAt), next.failuresTotal,
                    next.successesTotal, StoreCoding.millis(next.updatedAt),
                ])
            return next
        }
    }

    public func bindCredential(
        jobID: String, token: String, credential: String, definition: String, maxConcurrency: Int?, at: Date
    ) async throws -> Bool {
        let now = StoreCoding.millis(at)
        return try await pool.write { db in
            if let maxConcurrency {
                let inFlight =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT COUNT(*) FROM jobs
                            WHERE credential = ? AND status IN ('pending', 'processing') AND id != ?
                              AND (status = 'processing' OR lease_expires_at > ?)
                            """, arguments: [credential, jobID, now]) ?? 0
                guard inFlight < maxConcurrency else { return false }
            }
            try db.execute(
                sql: """
                    UPDATE jobs SET credential = ?, credential_definition = ?
                    WHERE id = ? AND status = 'pending' AND lease_token = ? AND lease_expires_at > ?
                    """, arguments: [credential, definition, jobID, token, now])
            return db.changesCount == 1
        }
    }

    public func credentialsInFlight(at: Date) async throws -> [String: Int] {
        let now = StoreCoding.millis(at)
        return try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT credential, COUNT(*) AS n FROM jobs
                    WHERE credential IS NOT NULL AND status IN ('pending', 'processing') AND (status = 'processing' OR lease_expires_at > ?)
                    GROUP BY credential
                    """, arguments: [now])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["credential"] as String, $0["n"] as Int) })
        }
    }
}

extension CredentialHealth {
    init(row: Row) throws {
        self.init(
            name: row["name"], provider: row["provider"], state: try enumValue(row["state"]), consecutiveFailures: row["consecutive_failures"],
            openSeconds: row["open_seconds"], openedUntil: StoreCoding.date(row["opened_until"] as Int64?),
            probeUntil: StoreCoding.date(row["probe_until"] as Int64?), lastError: row["last_error"],
            lastFailureAt: StoreCoding.date(row["last_failure_at"] as Int64?), failuresTotal: row["failures_total"],
            successesTotal: row["successes_total"], updatedAt: StoreCoding.date(row["updated_at"] as Int64))
    }
}
