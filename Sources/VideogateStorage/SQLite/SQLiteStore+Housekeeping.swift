import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    public func expiredResults(now: Date, limit: Int) async throws -> [Job] {
        try read { db in
            try db.rows(sql: """
                    SELECT \(JobColumns.list) FROM jobs
                    WHERE status = 'completed' AND result_deleted = 0 AND expires_at <= ?1
                      AND (result_delete_retry_at IS NULL OR result_delete_retry_at <= ?1)
                    ORDER BY expires_at LIMIT ?2
                    """,
                arguments: [StoreCoding.millis(now), limit]
            ).map(Job.init(row:))
        }
    }

    public func markResultDeleted(jobID: String) async throws {
        try await pool.write { db in
            try db.run(sql: "UPDATE jobs SET result_deleted = 1, result_delete_retry_at = NULL WHERE id = ?", arguments: [jobID])
        }
    }

    public func deferResultDeletion(jobID: String, retryAt: @Sendable (Int) -> Date) async throws -> Int {
        try await pool.write { db in
            guard let failures = try db.value(Int.self, sql: "SELECT result_delete_failures FROM jobs WHERE id = ?", arguments: [jobID]) else {
                return 0
            }
            try db.run(
                sql: "UPDATE jobs SET result_delete_failures = ?, result_delete_retry_at = ? WHERE id = ?",
                arguments: [failures + 1, StoreCoding.millis(retryAt(failures + 1)), jobID])
            return failures + 1
        }
    }

    public func purge(now: Date, retention: Retention) async throws -> PurgeReport {
        let limit = max(1, retention.batchSize)
        var report = PurgeReport()
        report.idempotencyKeys = try await deleteInBatches(
            sql: """
                DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at < ? LIMIT ?)
                """,
            before: StoreCoding.millis(now.addingTimeInterval(-StoreCoding.idempotencyWindow)), limit: limit)
        report.quotaBuckets = try await deleteInBatches(
            sql: "DELETE FROM quota_buckets WHERE rowid IN (SELECT rowid FROM quota_buckets WHERE bucket < ? LIMIT ?)",
            before: QuotaWindow.firstBucket(at: now), limit: limit)
        let finishedBefore = StoreCoding.millis(now.addingTimeInterval(-retention.webhookHistory))
        while true {
            // Attempts first: they reference their delivery.
            let (deliveries, attempts) = try await pool.write { db -> (Int, Int) in
                let ids = try String.fetchAll(
                    db, sql: "SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < ? LIMIT ?",
                    arguments: [finishedBefore, limit])
                guard !ids.isEmpty else { return (0, 0) }
                let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
                try db.execute(sql: "DELETE FROM webhook_attempts WHERE delivery_id IN (\(marks))", arguments: StatementArguments(ids))
                let attempts = db.changesCount
                try db.execute(sql: "DELETE FROM webhook_deliveries WHERE id IN (\(marks))", arguments: StatementArguments(ids))
                return (db.changesCount, attempts)
            }
            report.webhookDeliveries += deliveries
            report.webhookAttempts += attempts
            if deliveries < limit { break }
        }
        return report
    }

    /// Runs a `DELETE … LIMIT` statement taking a cut-off and a batch size until it removes fewer
    /// rows than the batch size; returns the rows removed.
    private func deleteInBatches(sql: String, before: Int64, limit: Int) async throws -> Int {
        var total = 0
        while true {
            let removed = try await pool.write { db in
                try db.run(sql: sql, arguments: [before, limit])
                return db.changesCount
            }
            total += removed
            if removed < limit { return total }
        }
    }

    /// The statements of `stats`; each reads an index or the counter table (tests check the plans).
    static let statsQueries = (
        unfinished: "SELECT status, COUNT(*) AS n FROM jobs WHERE status IN ('pending', 'processing') GROUP BY status",
        finished: "SELECT status, SUM(count) AS n FROM job_status_counts GROUP BY status",
        due: "SELECT COUNT(*) FROM jobs WHERE status IN ('pending', 'processing') AND next_attempt_at <= ?",
        held: "SELECT environment, SUM(held) AS held FROM balances WHERE held > 0 GROUP BY environment"
    )

    public func stats(now: Date) async throws -> StoreStats {
        try readSnapshot { db in
            var byStatus: [JobStatus: Int] = [:]
            for sql in [Self.statsQueries.unfinished, Self.statsQueries.finished] {
                for row in try Row.fetchAll(db, sql: sql) {
                    if let status = JobStatus(rawValue: row["status"]) { byStatus[status] = row["n"] }
                }
            }
            let depth = try Int.fetchOne(db, sql: Self.statsQueries.due, arguments: [StoreCoding.millis(now)]) ?? 0
            var held = Dictionary(uniqueKeysWithValues: KeyEnvironment.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: Self.statsQueries.held) {
                if let environment = KeyEnvironment(rawValue: row["environment"]) { held[environment] = row["held"] }
            }
            return StoreStats(jobsByStatus: byStatus, queueDepth: depth, heldCredits: held)
        }
    }
}
