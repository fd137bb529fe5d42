import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    /// The key of the transaction-scoped advisory lock that capped claims take, so two processes
    /// cannot both count an account below its cap and both claim up to it ("vgclaims" in ASCII).
    static let claimLockKey: Int64 = 0x7667_636C_6169_6D73

    /// The candidates are chosen by window functions (see `ClaimRequest` for the order), then locked
    /// with `FOR UPDATE SKIP LOCKED`, which a window query cannot carry itself: concurrent claimers
    /// pass over each other's rows instead of waiting or taking them twice, and a row leased
    /// meanwhile by a committed claim fails the re-checked lease condition when it is locked. With an
    /// account cap, claims take one advisory lock in turn, so each counts the others' leases.
    public func claimJobs(_ request: ClaimRequest) async throws -> [Job] {
        guard request.totalSlots > 0 else { return [] }
        guard request.accountMaxInFlight > 0 else {
            return try await withSession { db in try await self.claim(db, request) }
        }
        return try await transaction { db in
            try await db.run("SELECT pg_advisory_xact_lock(\(Self.claimLockKey))")
            return try await self.claim(db, request)
        }
    }

    private func claim(_ db: PostgresSession, _ request: ClaimRequest) async throws -> [Job] {
        let now = StoreCoding.millis(request.now)
        let cap = request.accountMaxInFlight
        return try await db.rows("""
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
                  AND (CASE WHEN provider = 'sandbox' THEN \(request.sandboxSlots) ELSE \(request.liveSlots) END) > 0
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
                WHERE fresh = 0 OR \(cap) = 0 OR fresh_rank <= \(cap) - busy
            ),
            picked AS (
                (SELECT id, turn, fresh, next_attempt_at FROM ranked WHERE sandbox = 0
                 ORDER BY turn, fresh, next_attempt_at, id LIMIT \(request.liveSlots))
                UNION ALL
                (SELECT id, turn, fresh, next_attempt_at FROM ranked WHERE sandbox = 1
                 ORDER BY turn, fresh, next_attempt_at, id LIMIT \(request.sandboxSlots))
            ),
            locked AS (
                SELECT id FROM jobs
                WHERE id IN (SELECT id FROM picked ORDER BY turn, fresh, next_attempt_at, id LIMIT \(request.totalSlots))
                  AND status IN ('pending', 'processing')
                  AND (lease_expires_at IS NULL OR lease_expires_at <= \(now))
                FOR UPDATE SKIP LOCKED
            )
            UPDATE jobs SET lease_owner = \(request.owner), lease_expires_at = \(StoreCoding.millis(request.leaseUntil)), attempts = attempts + 1,
                lease_token = md5(random()::text || clock_timestamp()::text || id)
            WHERE id IN (SELECT id FROM locked)
            RETURNING \(unescaped: JobColumns.list)
            """
        ).map(Job.init(row:))
    }

    public func resumeLease(jobID: String, owner: String, now: Date, leaseUntil: Date) async throws -> Job? {
        try await withSession { db in
            try await db.rows("""
                UPDATE jobs SET lease_owner = \(owner), lease_expires_at = \(StoreCoding.millis(leaseUntil)), attempts = attempts + 1,
                    lease_token = md5(random()::text || clock_timestamp()::text || id)
                WHERE id = \(jobID) AND status IN ('pending', 'processing')
                  AND (lease_expires_at IS NULL OR lease_expires_at <= \(StoreCoding.millis(now)))
                RETURNING \(unescaped: JobColumns.list)
                """
            ).map(Job.init(row:)).first
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

    public func apply(_ transition: JobTransition, token: String, at: Date) async throws -> Bool {
        try await transaction { db in try await self.storeTransition(db, transition, fence: .claim(token: token), at: at) }
    }

    /// Stores a decided transition in the open transaction: the job's row (freeing any lease), its
    /// ledger effect and, for a final state, its webhook outbox row, only while `fence` holds and the
    /// job is unfinished. False otherwise, and nothing changed. Every change of a job's state goes
    /// through here (`apply`, `cancel`), so what follows a final state (ledger, outbox, the status
    /// counters kept by triggers) is the same whoever ended the job.
    ///
    /// The UPDATE of the job is the fence: it locks the row, so of two concurrent final transitions
    /// the second waits, then finds the job finished (or the lease gone) and changes nothing.
    func storeTransition(_ db: PostgresSession, _ transition: JobTransition, fence: TransitionFence, at: Date) async throws -> Bool {
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
                    provider = \(job.provider.rawValue), upstream_model = \(job.upstreamModel), credential = \(job.credential),
                    credential_definition = \(job.credentialDefinition), routed_model = \(job.routedModel),
                    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
                WHERE id = \(job.id) AND status IN ('pending', 'processing')
                  AND (lease_token = \(fence.token)
                       OR (\(fence.token)::text IS NULL AND status = 'pending'
                           AND (lease_expires_at IS NULL OR lease_expires_at <= \(fence.unleasedAt)::bigint)))
                RETURNING id
                """) != nil
        else { return false }
        switch transition.ledger {
        case .none: break
        case .capture: _ = try await applyLedger(db, job: job, kind: .capture, at: at)
        case .release: _ = try await applyLedger(db, job: job, kind: .release, at: at)
        }
        try await recordTiming(db, completed: job)
        // The webhook outbox row commits with the final state, or neither does.
        if job.status.isTerminal { try await enqueueWebhook(db, jobID: job.id, event: job.status, at: at) }
        return true
    }
}
