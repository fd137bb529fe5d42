import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    public func claimJobs(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [Job] {
        try await pool.write { db in
            try db.rows(sql: """
                    UPDATE jobs SET lease_owner = ?1, lease_expires_at = ?2, attempts = attempts + 1, lease_token = lower(hex(randomblob(16)))
                    WHERE id IN (
                        SELECT id FROM jobs
                        WHERE status IN ('pending', 'processing')
                          AND (next_attempt_at <= ?3 OR deadline_at <= ?3)
                          AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
                        ORDER BY next_attempt_at LIMIT ?4
                    )
                    RETURNING \(JobColumns.list)
                    """,
                arguments: [owner, StoreCoding.millis(leaseUntil), StoreCoding.millis(now), limit]
            ).map(Job.init(row:))
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
        try await pool.write { db in
            let job = transition.job
            let result = job.result
            try db.run(sql: """
                    UPDATE jobs SET
                        status = ?, progress = ?, credits_used = ?, error_code = ?, error_message = ?,
                        provider_job_id = ?, provider_request_id = ?, next_attempt_at = ?, updated_at = ?,
                        submitted_at = ?, completed_at = ?, expires_at = ?, video_key = ?, thumbnail_key = ?,
                        video_bytes = ?, video_duration_ms = ?, video_width = ?, video_height = ?,
                        lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
                    WHERE id = ? AND lease_token = ? AND status IN ('pending', 'processing')
                    """,
                arguments: [
                    job.status.rawValue, job.progress, job.creditsUsed, job.failure?.code.rawValue, job.failure?.message,
                    job.providerJobID, job.providerRequestID, StoreCoding.millis(job.nextAttemptAt), StoreCoding.millis(job.updatedAt),
                    StoreCoding.millis(job.submittedAt), StoreCoding.millis(job.completedAt), StoreCoding.millis(job.expiresAt),
                    result?.videoKey, result?.thumbnailKey, result?.videoBytes, result?.durationMilliseconds, result?.width,
                    result?.height, job.id, token,
                ])
            guard db.changesCount == 1 else { return false }
            switch transition.ledger {
            case .none: break
            case .capture: _ = try applyLedger(db, job: job, kind: .capture, at: at)
            case .release: _ = try applyLedger(db, job: job, kind: .release, at: at)
            }
            // The webhook outbox row commits with the final state, or neither does.
            if job.status.isTerminal { try enqueueWebhook(db, jobID: job.id, event: job.status, at: at) }
            return true
        }
    }
}
