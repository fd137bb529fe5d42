import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    public func credentialHealth() async throws -> [CredentialHealth] {
        try await withSession { db in
            try await db.rows("SELECT * FROM credential_health ORDER BY name").map(CredentialHealth.init(row:))
        }
    }

    /// The row is created if missing, then locked (`FOR UPDATE`) for the read-change-write, so two
    /// processes recording outcomes of one credential at once apply both, one after the other.
    public func updateCredentialHealth(
        name: String, provider: String, at: Date, _ change: @escaping @Sendable (CredentialHealth) -> CredentialHealth?
    ) async throws -> CredentialHealth? {
        let now = StoreCoding.millis(at)
        return try await transaction { db in
            try await db.run("""
                INSERT INTO credential_health (name, provider, state, consecutive_failures, open_seconds, failures_total, successes_total, updated_at)
                VALUES (\(name), \(provider), 'closed', 0, 0, 0, 0, \(now))
                ON CONFLICT (name) DO NOTHING
                """)
            guard let row = try await db.row("SELECT * FROM credential_health WHERE name = \(name) FOR UPDATE") else { return nil }
            guard let next = change(try CredentialHealth(row: row)) else { return nil }
            try await db.run("""
                UPDATE credential_health SET provider = \(next.provider), state = \(next.state.rawValue),
                    consecutive_failures = \(next.consecutiveFailures), open_seconds = \(next.openSeconds),
                    opened_until = \(StoreCoding.millis(next.openedUntil)), probe_until = \(StoreCoding.millis(next.probeUntil)),
                    last_error = \(next.lastError), last_failure_at = \(StoreCoding.millis(next.lastFailureAt)),
                    failures_total = \(next.failuresTotal), successes_total = \(next.successesTotal),
                    updated_at = \(StoreCoding.millis(next.updatedAt))
                WHERE name = \(name)
                """)
            return next
        }
    }

    /// A transaction-scoped advisory lock per credential serialises the count and the binding
    /// across processes: two workers cannot both take a credential's last free slot.
    public func bindCredential(
        jobID: String, token: String, credential: String, definition: String, maxConcurrency: Int?, at: Date
    ) async throws -> Bool {
        let now = StoreCoding.millis(at)
        let lockName = "videogate.credential." + credential
        return try await transaction { db in
            if let maxConcurrency {
                try await db.run("SELECT pg_advisory_xact_lock(hashtext(\(lockName)))")
                let inFlight =
                    try await db.value(
                        Int64.self,
                        """
                        SELECT COUNT(*) FROM jobs
                        WHERE credential = \(credential) AND status IN ('pending', 'processing') AND id <> \(jobID)
                          AND (status = 'processing' OR lease_expires_at > \(now))
                        """) ?? 0
                guard inFlight < Int64(maxConcurrency) else { return false }
            }
            return try await db.row("""
                UPDATE jobs SET credential = \(credential), credential_definition = \(definition)
                WHERE id = \(jobID) AND status = 'pending' AND lease_token = \(token) AND lease_expires_at > \(now)
                RETURNING id
                """) != nil
        }
    }

    public func credentialsInFlight(at: Date) async throws -> [String: Int] {
        let now = StoreCoding.millis(at)
        return try await withSession { db in
            let rows = try await db.rows("""
                SELECT credential, COUNT(*) AS n FROM jobs
                WHERE credential IS NOT NULL AND status IN ('pending', 'processing') AND (status = 'processing' OR lease_expires_at > \(now))
                GROUP BY credential
                """)
            var counts: [String: Int] = [:]
            for row in rows {
                let columns = row.makeRandomAccess()
                counts[try columns.value("credential", as: String.self)] = Int(try columns.value("n", as: Int64.self))
            }
            return counts
        }
    }
}

extension CredentialHealth {
    init(row raw: PostgresRow) throws {
        let row = raw.makeRandomAccess()
        self.init(
            name: try row.value("name"), provider: try row.value("provider"), state: try row.enumValue("state"),
            consecutiveFailures: Int(try row.value("consecutive_failures", as: Int32.self)),
            openSeconds: Int(try row.value("open_seconds", as: Int32.self)), openedUntil: try row.optionalDate("opened_until"),
            probeUntil: try row.optionalDate("probe_until"), lastError: try row.value("last_error"),
            lastFailureAt: try row.optionalDate("last_failure_at"), failuresTotal: Int(try row.value("failures_total", as: Int64.self)),
            successesTotal: Int(try row.value("successes_total", as: Int64.self)), updatedAt: try row.date("updated_at"))
    }
}
