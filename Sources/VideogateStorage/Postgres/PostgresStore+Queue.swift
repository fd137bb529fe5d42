import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    /// One statement: the due jobs are locked with `FOR UPDATE SKIP LOCKED`, so concurrent claimers
    /// (in any process) pass over each other's rows instead of waiting or taking them twice, and a
    /// row leased meanwhile by a committed claim no longer matches when it is locked.
    public func claimJobs(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [Job] {
        try await withSession { db in
            try await db.rows("""
                WITH due AS (
                    SELECT id FROM jobs
                    WHERE status IN ('pending', 'processing')
                      AND (next_attempt_at <= \(StoreCoding.millis(now)) OR deadline_at <= \(StoreCoding.millis(now)))
                      AND (lease_expires_at IS NULL OR lease_expires_at <= \(StoreCoding.millis(now)))
                    ORDER BY next_attempt_at LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE jobs SET lease_owner = \(owner), lease_expires_at = \(StoreCoding.millis(leaseUntil)), attempts = attempts + 1,
                    lease_token = md5(random()::text || clock_timestamp()::text || id)
                WHERE id IN (SELECT id FROM due)
                RETURNING \(unescaped: JobColumns.list)
                """
            ).map(Job.init(row:))
        }
    }

    public func renewLease(jobID: String, token: String, until: Date) async throws -> Bool {
        try await withSession { db in
            try await db.row("""
                UPDATE jobs SET lease_expires_at = \(StoreCoding.millis(until))
                WHERE id = \(jobID) AND lease_token = \(token) AND status IN ('pending', 'processing')
                RETURNING id
                """) != nil
        }
    }

    public func releaseLease(jobID: String, token: String) async throws {
        try await uncancelled {
            try await self.withSession { db in
                try await db.run("""
                    UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
                    WHERE id = \(jobID) AND lease_token = \(token)
                    """)
            }
        }
    }

    /// The UPDATE of the job is the fence: it locks the row, so of two concurrent final transitions
    /// the second waits, then finds the job finished (or the lease gone) and changes nothing.
    public func apply(_ transition: JobTransition, token: String, at: Date) async throws -> Bool {
        try await transaction { db in
            let job = transition.job
            let result = job.result
            guard
                try await db.row("""
                    UPDATE jobs SET
                        status = \(job.status.rawValue), progress = \(job.progress), credits_used = \(job.creditsUsed),
                        error_code = \(job.failure?.code.rawValue), error_message = \(job.failure?.message),
                        provider_job_id = \(job.providerJobID), provider_request_id = \(job.providerRequestID),
                        next_attempt_at = \(StoreCoding.millis(job.nextAttemptAt)), updated_at = \(StoreCoding.millis(job.updatedAt)),
                        submitted_at = \(StoreCoding.millis(job.submittedAt)), completed_at = \(StoreCoding.millis(job.completedAt)),
                        expires_at = \(StoreCoding.millis(job.expiresAt)), video_key = \(result?.videoKey), thumbnail_key = \(result?.thumbnailKey),
                        video_bytes = \(result?.videoBytes), video_duration_ms = \(result?.durationMilliseconds),
                        video_width = \(result?.width), video_height = \(result?.height),
                        lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
                    WHERE id = \(job.id) AND lease_token = \(token) AND status IN ('pending', 'processing')
                    RETURNING id
                    """) != nil
            else { return false }
            switch transition.ledger {
            case .none: break
            case .capture: _ = try await self.applyLedger(db, job: job, kind: .capture, at: at)
            case .release: _ = try await self.applyLedger(db, job: job, kind: .release, at: at)
            }
            // The webhook outbox row commits with the final state, or neither does.
            if job.status.isTerminal { try await self.enqueueWebhook(db, jobID: job.id, event: job.status, at: at) }
            return true
        }
    }
}
