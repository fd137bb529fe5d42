import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    /// As in SQLite: the ranking of `claimJobs` over both lanes, with the jobs the account cap holds
    /// back after the others. A plain read: no locks.
    public func queueOrder(now: Date, accountMaxInFlight: Int) async throws -> QueueOrder {
        let at = StoreCoding.millis(now)
        let cap = accountMaxInFlight
        return try await withSession { db in
            let rows = try await db.rows("""
                WITH in_flight AS (
                    SELECT account_id, COUNT(*) AS n FROM jobs
                    WHERE status IN ('pending', 'processing') AND (status = 'processing' OR lease_expires_at > \(at))
                    GROUP BY account_id
                ),
                due AS (
                    SELECT id, account_id, next_attempt_at,
                        CASE WHEN provider = 'sandbox' THEN 1 ELSE 0 END AS sandbox,
                        CASE WHEN status = 'processing' OR deadline_at <= \(at) THEN 0 ELSE 1 END AS fresh
                    FROM jobs
                    WHERE status IN ('pending', 'processing')
                      AND (next_attempt_at <= \(at) OR deadline_at <= \(at))
                      AND (lease_expires_at IS NULL OR lease_expires_at <= \(at))
                ),
                ranked AS (
                    SELECT due.id, due.sandbox, due.fresh, due.next_attempt_at,
                        COALESCE(in_flight.n, 0)
                            + ROW_NUMBER() OVER (PARTITION BY due.account_id, due.sandbox ORDER BY due.fresh, due.next_attempt_at, due.id) AS turn,
                        CASE WHEN \(cap) > 0 AND due.fresh = 1
                              AND ROW_NUMBER() OVER (PARTITION BY due.account_id, due.fresh ORDER BY due.next_attempt_at, due.id)
                                  > \(cap) - COALESCE(in_flight.n, 0)
                             THEN 1 ELSE 0 END AS held
                    FROM due LEFT JOIN in_flight ON in_flight.account_id = due.account_id
                )
                SELECT id, sandbox::bigint AS sandbox,
                    (ROW_NUMBER() OVER (PARTITION BY sandbox ORDER BY held, turn, next_attempt_at, id) - 1)::bigint AS position
                FROM ranked WHERE fresh = 1
                """)
            var entries: [(String, Bool, Int)] = []
            entries.reserveCapacity(rows.count)
            for row in rows {
                let columns = row.makeRandomAccess()
                entries.append(
                    (try columns.value("id", as: String.self), try columns.value("sandbox", as: Int.self) == 1, try columns.value("position", as: Int.self)))
            }
            return QueueOrder(rows: entries, at: now)
        }
    }

    public func modelTimings() async throws -> [ModelTiming] {
        try await withSession { db in
            try await db.rows("SELECT provider, model_id, run_ms, samples FROM model_timings").compactMap { row in
                let columns = row.makeRandomAccess()
                guard let provider = ProviderKind(rawValue: try columns.value("provider", as: String.self)) else { return nil }
                return ModelTiming(
                    provider: provider, modelID: try columns.value("model_id"), runTime: Double(try columns.value("run_ms", as: Int64.self)) / 1000,
                    samples: try columns.value("samples"))
            }
        }
    }

    /// As in SQLite, in the transaction of the completion. Completions of one model wait for each
    /// other's row lock only for the rest of their (short) transactions.
    func recordTiming(_ db: PostgresSession, completed job: Job) async throws {
        guard job.status == .completed, let completedAt = job.completedAt else { return }
        let sample = max(0, StoreCoding.millis(completedAt) - StoreCoding.millis(job.submittedAt ?? job.createdAt))
        try await db.run("""
            INSERT INTO model_timings (provider, model_id, run_ms, samples, updated_at)
            VALUES (\(job.provider.rawValue), \(job.modelID), \(sample), 1, \(StoreCoding.millis(completedAt)))
            ON CONFLICT (provider, model_id) DO UPDATE SET
                run_ms = model_timings.run_ms + (excluded.run_ms - model_timings.run_ms) / 5,
                samples = model_timings.samples + 1, updated_at = excluded.updated_at
            """)
    }
}
