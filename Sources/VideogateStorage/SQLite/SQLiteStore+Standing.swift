import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    /// The ranking of `claimJobs` (same CTEs, same order), over both lanes as if each had free slots,
    /// keeping the jobs the account cap holds back (`held`, after the others).
    ///
    /// Read on the calling thread like every other read of this store (`read`): an async GRDB read
    /// holds its reader connection until its continuation runs on the cooperative pool, so mixed
    /// with the blocking reads it could leave every reader held and every cooperative thread waiting.
    public func queueOrder(now: Date, accountMaxInFlight: Int) async throws -> QueueOrder {
        try read { db in
            let rows = try db.rows(sql: """
                    WITH in_flight AS (
                        SELECT account_id, COUNT(*) AS n FROM jobs
                        WHERE status IN ('pending', 'processing') AND (status = 'processing' OR lease_expires_at > ?1)
                        GROUP BY account_id
                    ),
                    due AS (
                        SELECT id, account_id, next_attempt_at,
                            CASE WHEN provider = 'sandbox' THEN 1 ELSE 0 END AS sandbox,
                            CASE WHEN status = 'processing' OR deadline_at <= ?1 THEN 0 ELSE 1 END AS fresh
                        FROM jobs
                        WHERE status IN ('pending', 'processing')
                          AND (next_attempt_at <= ?1 OR deadline_at <= ?1)
                          AND (lease_expires_at IS NULL OR lease_expires_at <= ?1)
                    ),
                    ranked AS (
                        SELECT due.id, due.sandbox, due.fresh, due.next_attempt_at,
                            COALESCE(in_flight.n, 0)
                                + ROW_NUMBER() OVER (PARTITION BY due.account_id, due.sandbox ORDER BY due.fresh, due.next_attempt_at, due.id) AS turn,
                            CASE WHEN ?2 > 0 AND due.fresh = 1
                                  AND ROW_NUMBER() OVER (PARTITION BY due.account_id, due.fresh ORDER BY due.next_attempt_at, due.id)
                                      > ?2 - COALESCE(in_flight.n, 0)
                                 THEN 1 ELSE 0 END AS held
                        FROM due LEFT JOIN in_flight ON in_flight.account_id = due.account_id
                    )
                    SELECT id, sandbox, ROW_NUMBER() OVER (PARTITION BY sandbox ORDER BY held, turn, next_attempt_at, id) - 1 AS position
                    FROM ranked WHERE fresh = 1
                    """,
                arguments: [StoreCoding.millis(now), accountMaxInFlight])
            return QueueOrder(rows: rows.map { ($0["id"] as String, ($0["sandbox"] as Int) == 1, $0["position"] as Int) }, at: now)
        }
    }

    public func modelTimings() async throws -> [ModelTiming] {
        try read { db in
            try db.rows(sql: "SELECT provider, model_id, run_ms, samples FROM model_timings").compactMap { row in
                guard let provider = ProviderKind(rawValue: row["provider"]) else { return nil }
                return ModelTiming(
                    provider: provider, modelID: row["model_id"], runTime: Double(row["run_ms"] as Int64) / 1000, samples: row["samples"])
            }
        }
    }

    /// Adds a completed job's run time (hand-over to completion) to its model's weighted mean, in
    /// the transaction that stores the completion. `/ 5` is `ModelTiming.weight`.
    func recordTiming(_ db: Database, completed job: Job) throws {
        guard job.status == .completed, let completedAt = job.completedAt else { return }
        let sample = max(0, StoreCoding.millis(completedAt) - StoreCoding.millis(job.submittedAt ?? job.createdAt))
        try db.run(sql: """
                INSERT INTO model_timings (provider, model_id, run_ms, samples, updated_at) VALUES (?1, ?2, ?3, 1, ?4)
                ON CONFLICT (provider, model_id) DO UPDATE SET
                    run_ms = model_timings.run_ms + (excluded.run_ms - model_timings.run_ms) / 5,
                    samples = model_timings.samples + 1, updated_at = excluded.updated_at
                """,
            arguments: [job.provider.rawValue, job.modelID, sample, StoreCoding.millis(completedAt)])
    }
}
