import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    public func expiredResults(now: Date, limit: Int) async throws -> [Job] {
        let now = StoreCoding.millis(now)
        return try await withSession { db in
            try await db.rows("""
                SELECT \(unescaped: JobColumns.list) FROM jobs
                WHERE status = 'completed' AND NOT result_deleted AND expires_at <= \(now)
                  AND (result_delete_retry_at IS NULL OR result_delete_retry_at <= \(now))
                ORDER BY expires_at LIMIT \(limit)
                """
            ).map(Job.init(row:))
        }
    }

    public func markResultDeleted(jobID: String) async throws {
        try await withSession { db in
            try await db.run("UPDATE jobs SET result_deleted = TRUE, result_delete_retry_at = NULL WHERE id = \(jobID)")
        }
    }

    public func deferResultDeletion(jobID: String, retryAt: @Sendable (Int) -> Date) async throws -> Int {
        try await transaction { db in
            guard let failures = try await db.value(Int.self, "SELECT result_delete_failures FROM jobs WHERE id = \(jobID) FOR UPDATE") else {
                return 0
            }
            try await db.run("""
                UPDATE jobs SET result_delete_failures = \(failures + 1), result_delete_retry_at = \(StoreCoding.millis(retryAt(failures + 1)))
                WHERE id = \(jobID)
                """)
            return failures + 1
        }
    }

    public func purge(now: Date, retention: Retention) async throws -> PurgeReport {
        let limit = max(1, retention.batchSize)
        let idempotencyBefore = StoreCoding.millis(now.addingTimeInterval(-StoreCoding.idempotencyWindow))
        let firstBucket = QuotaWindow.firstBucket(at: now)
        let finishedBefore = StoreCoding.millis(now.addingTimeInterval(-retention.webhookHistory))
        var report = PurgeReport()
        report.idempotencyKeys = try await deleteInBatches(limit: limit) { db in
            try await db.value(Int.self, """
                WITH gone AS (
                    DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at < \(idempotencyBefore) LIMIT \(limit))
                    RETURNING 1
                )
                SELECT COUNT(*)::bigint FROM gone
                """) ?? 0
        }
        report.quotaBuckets = try await deleteInBatches(limit: limit) { db in
            try await db.value(Int.self, """
                WITH gone AS (
                    DELETE FROM quota_buckets WHERE ctid IN (SELECT ctid FROM quota_buckets WHERE bucket < \(firstBucket) LIMIT \(limit))
                    RETURNING 1
                )
                SELECT COUNT(*)::bigint FROM gone
                """) ?? 0
        }
        while true {
            // Attempts first: they reference their delivery.
            let (deliveries, attempts) = try await transaction { db -> (Int, Int) in
                let ids = try await db.rows("""
                    SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < \(finishedBefore)
                    LIMIT \(limit) FOR UPDATE SKIP LOCKED
                    """
                ).map { try $0.decode(String.self) }
                guard !ids.isEmpty else { return (0, 0) }
                let attempts = try await db.value(Int.self, """
                    WITH gone AS (DELETE FROM webhook_attempts WHERE delivery_id = ANY(\(ids)) RETURNING 1)
                    SELECT COUNT(*)::bigint FROM gone
                    """) ?? 0
                let deliveries = try await db.value(Int.self, """
                    WITH gone AS (DELETE FROM webhook_deliveries WHERE id = ANY(\(ids)) RETURNING 1)
                    SELECT COUNT(*)::bigint FROM gone
                    """) ?? 0
                return (deliveries, attempts)
            }
            report.webhookDeliveries += deliveries
            report.webhookAttempts += attempts
            if deliveries < limit { break }
        }
        return report
    }

    /// Runs one batch delete, each in its own transaction, until a batch removes fewer than `limit`
    /// rows; returns the rows removed.
    private func deleteInBatches(limit: Int, _ batch: (PostgresSession) async throws -> Int) async throws -> Int {
        var total = 0
        while true {
            let removed = try await transaction { db in try await batch(db) }
            total += removed
            if removed < limit { return total }
        }
    }

    public func stats(now: Date) async throws -> StoreStats {
        try await withSession { db in
            var byStatus: [JobStatus: Int] = [:]
            // Unfinished jobs through the status index; finished ones from the counters the triggers
            // of migration 6 keep (summed over their shards).
            let counts = try await db.rows("""
                SELECT status, COUNT(*)::bigint AS n FROM jobs WHERE status IN ('pending', 'processing') GROUP BY status
                UNION ALL
                SELECT status, SUM(count)::bigint AS n FROM job_status_counts GROUP BY status
                """)
            for row in counts {
                let row = row.makeRandomAccess()
                if let status = JobStatus(rawValue: try row.value("status")) { byStatus[status] = try row.value("n") }
            }
            let depth =
                try await db.value(
                    Int.self, "SELECT COUNT(*) FROM jobs WHERE status IN ('pending', 'processing') AND next_attempt_at <= \(StoreCoding.millis(now))"
                ) ?? 0
            var held = Dictionary(uniqueKeysWithValues: KeyEnvironment.allCases.map { ($0, 0) })
            for row in try await db.rows("SELECT environment, SUM(held)::bigint AS held FROM balances WHERE held > 0 GROUP BY environment") {
                let row = row.makeRandomAccess()
                if let environment = KeyEnvironment(rawValue: try row.value("environment")) { held[environment] = try row.value("held") }
            }
            return StoreStats(jobsByStatus: byStatus, queueDepth: depth, heldCredits: held)
        }
    }
}
