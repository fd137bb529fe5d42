import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    /// One write transaction (SQLite runs one writer at a time), so the account cap counted in
    /// `in_flight` cannot be overtaken by a concurrent claim. See `ClaimRequest` for the order.
    public func claimJobs(_ request: ClaimRequest) async throws -> [Job] {
        guard request.totalSlots > 0 else { return [] }
        return try await pool.write { db in
            try db.rows(sql: """
                    WITH in_flight AS (
                        SELECT account_id, COUNT(*) AS n FROM jobs
                        WHERE status IN ('pending', 'processing') AND (status = 'processing' OR lease_expires_at > ?3)
                        GROUP BY account_id
                    ),
                    due AS (
                        SELECT id, account_id, next_attempt_at,
                            CASE WHEN provider = 'sandbox' THEN 1 ELSE 0 END AS sandbox,
                            CASE WHEN status = 'processing' OR deadline_at <= ?3 THEN 0 ELSE 1 END AS fresh
                        FROM jobs
                        WHERE status IN ('pending', 'processing')
                          AND (next_attempt_at <= ?3 OR deadline_at <= ?3)
                          AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
                          AND (CASE WHEN provider = 'sandbox' THEN ?5 ELSE ?4 END) > 0
                    ),
                    allowed AS (
                        SELECT due.id, due.account_id, due.next_attempt_at, due.sandbox, due.fresh, COALESCE(in_flight.n, 0) AS busy,
                            ROW_NUMBER() OVER (PARTITION BY due.account_id, due.fresh ORDER BY due.next_attempt_at, due.id) AS fresh_rank
                        FROM due LEFT JOIN in_flight ON in_flight.account_id = due.account_id
                    ),
                    ranked AS (
                        SELECT id, sandbox, fresh, next_attempt_at,
                            busy + ROW_NUMBER() OVER (PARTITION BY account_id, sandbox ORDER BY fresh, next_attempt_at, id) AS turn
                        FROM allowed
                        WHERE fresh = 0 OR ?6 = 0 OR fresh_rank <= ?6 - busy
                    ),
                    picked AS (
                        SELECT * FROM (
                            SELECT id, turn, fresh, next_attempt_at FROM ranked WHERE sandbox = 0
                            ORDER BY turn, fresh, next_attempt_at, id LIMIT ?4)
                        UNION ALL
                        SELECT * FROM (
                            SELECT id, turn, fresh, next_attempt_at FROM ranked WHERE sandbox = 1
                            ORDER BY turn, fresh, next_attempt_at, id LIMIT ?5)
                    )
                    UPDATE jobs SET lease_owner = ?1, lease_expires_at = ?2, attempts = attempts + 1, lease_token = lower(hex(randomblob(16)))
                    WHERE id IN (SELECT id FROM picked ORDER BY turn, fresh, next_attempt_at, id LIMIT ?7)
                    RETURNING \(JobColumns.list)
                    """,
                arguments: [
                    request.owner, StoreCoding.millis(request.leaseUntil), StoreCoding.millis(request.now), request.liveSlots,
                    request.sandboxSlots, request.accountMaxInFlight, request.totalSlots,
                ]
            ).map(Job.init(row:))
        }
    }

    public func resumeLease(jobID: String, owner: String, now: Date, leaseUntil: Date) async throws -> Job? {
        try await pool.write { db in
            try db.rows(sql: """
                    UPDATE jobs SET lease_owner = ?1, lease_expires_at = ?2, attempts = attempts + 1, lease_token = lower(hex(randomblob(16)))
                    WHERE id = ?4 AND status IN ('pending', 'processing') AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
                    RETURNING \(JobColumns.list)
                    """,
                arguments: [owner, StoreCoding.millis(leaseUntil), StoreCoding.millis(now), jobID]
            ).map(Job.init(row:)).first
        }
    }

    public func renewLease(jobID: String, token: String, until: Date) async throws -> Bool {
        try await pool.write { db in
            try db.run(sql: """
                    UPDATE jobs SET lease_expires_at = ?
                    WHERE id = ? AND lease_token = ? AND status IN ('pending', 'processing')
                    """,
                arguments: [StoreCoding.millis(until), jobID, token])
            return db.changesCount > 0
        }
    }

    public func releaseLease(jobID: String, token: String) async throws {
        // Synchronous on purpose: GRDB's async access refuses to start in a cancelled task, and
        // this is what a cancelled step calls to hand its job back.
        try releaseLeaseNow(jobID: jobID, token: token)
    }

    private func releaseLeaseNow(jobID: String, token: String) throws {
        try pool.write { db in
            try db.run(
                sql: "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL WHERE id = ? AND lease_token = ?",
                arguments: [jobID, token])
        }
    }

    public func apply(_ transition: JobTransition, token: String, at: Date) async throws -> Bool {
        try await pool.write { db in try self.storeTransition(db, transition, fence: .claim(token: token), at: at) }
    }

    /// Stores a decided transition in the open write transaction: the job's row (freeing any
    /// lease), its ledger effect and, for a final state, its webhook outbox row, only while `fence`
    /// holds and the job is unfinished. False otherwise, and nothing changed. Every change of a
    /// job's state goes through here (`apply`, `cancel`), so what follows a final state (ledger,
    /// outbox, the status counters kept by triggers) is the same whoever ended the job.
    func storeTransition(_ db: Database, _ transition: JobTransition, fence: TransitionFence, at: Date) throws -> Bool {
        let job = transition.job
        let result = job.result
        try db.run(sql: """
                UPDATE jobs SET
                    status = ?, progress = ?, credits_used = ?, error_code = ?, error_message = ?,
                    provider_job_id = ?, provider_request_id = ?, next_attempt_at = ?, updated_at = ?,
                    submitted_at = ?, completed_at = ?, expires_at = ?, video_key = ?, thumbnail_key = ?,
                    video_bytes = ?, video_duration_ms = ?, video_width = ?, video_height = ?,
                    provider = ?, upstream_model = ?, credential = ?, credential_definition = ?, routed_model = ?,
                    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
                WHERE id = ? AND status IN ('pending', 'processing')
                  AND (lease_token = ? OR (? IS NULL AND status = 'pending' AND (lease_expires_at IS NULL OR lease_expires_at <= ?)))
                """,
            arguments: [
                job.status.rawValue, job.progress, job.creditsUsed, job.failure?.code.rawValue, job.failure?.message,
                job.providerJobID, job.providerRequestID, StoreCoding.millis(job.nextAttemptAt), StoreCoding.millis(job.updatedAt),
                StoreCoding.millis(job.submittedAt), StoreCoding.millis(job.completedAt), StoreCoding.millis(job.expiresAt),
                result?.videoKey, result?.thumbnailKey, result?.videoBytes, result?.durationMilliseconds, result?.width,
                result?.height, job.provider.rawValue, job.upstreamModel, job.credential, job.credentialDefinition, job.routedModel,
                job.id, fence.token, fence.token, fence.unleasedAt,
            ])
        guard db.changesCount == 1 else { return false }
        switch transition.ledger {
        case .none: break
        case .capture: _ = try applyLedger(db, job: job, kind: .capture, at: at)
        case .release: _ = try applyLedger(db, job: job, kind: .release, at: at)
        }
        try recordTiming(db, completed: job)
        // The webhook outbox row commits with the final state, or neither does.
        if job.status.isTerminal { try enqueueWebhook(db, jobID: job.id, event: job.status, at: at) }
        return true
    }
}
