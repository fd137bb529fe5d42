import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    /// As in SQLite: the ranking of `claimJobs` over both lanes, with the jobs the account cap holds
    /// back after the others, then the answer for the jobs asked about. A plain read: no locks.
    public func queuePositions(jobIDs: [String], now: Date, accountMaxInFlight: Int) async throws -> [String: Int] {
        guard !jobIDs.isEmpty else { return [:] }
        let now = StoreCoding.millis(now)
        let cap = accountMaxInFlight
        return try await withSession { db in
            let rows = try await db.rows("""
                WITH in_flight AS (
                    SELECT account_id, COUNT(*) AS n FROM jobs
                    WHERE status IN ('pending', 'processing') AND (status = 'processing' OR lease_expires_at > \(now))
                    GROUP BY account_id
                ),
                due AS (
                    SELECT id, account_id, next_attempt_at,
                        CASE WHEN provider = 'sandbox' THEN 1 ELSE 0 END AS sandbox,
                        CASE WHEN status = 'processing' OR deadline_at <= \(now) THEN 0 ELSE 1 END AS fresh
                    FROM jobs
                    WHERE status IN ('pending', 'processing')
                      AND (next_attempt_at <= \(now) OR deadline_at <= \(now))
                      AND (lease_expires_at IS NULL OR lease_expires_at <= \(now))
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
                ),
                ordered AS (
                    SELECT id, sandbox, ROW_NUMBER() OVER (PARTITION BY sandbox ORDER BY held, turn, next_attempt_at, id) - 1 AS position
                    FROM ranked WHERE fresh = 1
                ),
                lanes AS (SELECT sandbox, COUNT(*) AS n FROM ordered GROUP BY sandbox)
                SELECT j.id, (CASE WHEN j.lease_expires_at > \(now) THEN 0 ELSE COALESCE(ordered.position, lanes.n, 0) END)::bigint AS position
                FROM jobs j
                LEFT JOIN ordered ON ordered.id = j.id
                LEFT JOIN lanes ON lanes.sandbox = (CASE WHEN j.provider = 'sandbox' THEN 1 ELSE 0 END)
                WHERE j.id = ANY(\(jobIDs)) AND j.status = 'pending'
                """)
            var positions: [String: Int] = [:]
            for row in rows {
                let columns = row.makeRandomAccess()
                positions[try columns.value("id", as: String.self)] = try columns.value("position", as: Int.self)
            }
            return positions
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
