import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    /// The whole decision in one transaction, safe with any number of replicas submitting at once:
    /// a key's submissions wait for each other on the key's row (so the daily limit and the spend
    /// limit are read and counted by one at a time), the hold is a conditional update of the balance row, and a
    /// concurrent submission with the same idempotency key found when recording the key makes the
    /// transaction run again, which then replays that submission's job.
    public func submit(_ command: SubmitCommand) async throws -> SubmitOutcome {
        try await transaction { db in
            let now = command.now
            let spendLimit = try await db.row("SELECT spend_limit_daily FROM api_keys WHERE id = \(command.key.id) FOR UPDATE")?
                .makeRandomAccess().value("spend_limit_daily", as: Int?.self)
            // 1. An idempotent replay answers before anything is counted. Keys are scoped to the
            // account and the key's environment: a test request never replays into a live one.
            var recordWithoutJob: String?
            if let idempotencyKey = command.idempotencyKey,
                let record = try await db.row("""
                    SELECT request_hash, job_id FROM idempotency_keys
                    WHERE account_id = \(command.account.id) AND environment = \(command.key.environment.rawValue) AND key = \(idempotencyKey)
                      AND created_at >= \(StoreCoding.millis(now.addingTimeInterval(-StoreCoding.idempotencyWindow)))
                    """)?.makeRandomAccess()
            {
                let quota = try await self.quota(db, keyID: command.key.id, limit: command.account.dailyLimit, now: now)
                guard try record.value("request_hash", as: String.self) == command.requestHash else {
                    return .refused(StoreCoding.idempotencyConflict(), quota)
                }
                let jobID: String = try record.value("job_id")
                if let job = try await self.fetchJob(db, id: jobID) { return .replayed(job, quota) }
                recordWithoutJob = jobID
            }
            // 2. The daily limit; a refusal by the limit itself is not counted.
            var quota = try await self.quota(db, keyID: command.key.id, limit: command.account.dailyLimit, now: now)
            if quota.isExhausted { return .refused(StoreCoding.rateLimited(quota, now: now), quota) }
            try await db.run("""
                INSERT INTO quota_buckets (key_id, bucket, count) VALUES (\(command.key.id), \(QuotaWindow.bucket(for: now)), 1)
                ON CONFLICT (key_id, bucket) DO UPDATE SET count = quota_buckets.count + 1
                """)
            if quota.used == 0 { quota.resetAt = QuotaWindow.expiry(ofBucket: QuotaWindow.bucket(for: now)) }
            quota.used += 1
            // 3. The body checks (counted, even when they failed).
            let job: Job
            switch command.validation {
            case .failure(let error): return .refused(error, quota)
            case .success(let validated): job = validated
            }
            // 4. The key's spend limit, as stored now (a change applies to the next submission).
            if let refusal = try await self.spendLimitRefusal(db, job: job, limit: spendLimit, now: now) { return .refused(refusal, quota) }
            // 5. Credits: the hold is a conditional update, so racing submissions cannot overdraw.
            guard try await self.applyLedger(db, job: job, kind: .hold, at: now) != nil else {
                let available = try await db.value(
                    Int.self, "SELECT total - held FROM balances WHERE account_id = \(job.accountID) AND environment = \(job.environment.rawValue)")
                return .refused(StoreCoding.insufficientCredits(price: job.creditsReserved, available: available ?? 0), quota)
            }
            try await self.insertJob(db, job)
            if let idempotencyKey = command.idempotencyKey {
                // A record within the window that step 1 did not see was written by a submission of
                // another key of the account that committed since: run again, to replay it.
                let recorded = try await db.row("""
                    INSERT INTO idempotency_keys (account_id, environment, key, request_hash, job_id, created_at)
                    VALUES (
                        \(job.accountID), \(job.environment.rawValue), \(idempotencyKey), \(command.requestHash), \(job.id),
                        \(StoreCoding.millis(now))
                    )
                    ON CONFLICT (account_id, environment, key) DO UPDATE
                    SET request_hash = excluded.request_hash, job_id = excluded.job_id, created_at = excluded.created_at
                    WHERE idempotency_keys.created_at < \(StoreCoding.millis(now.addingTimeInterval(-StoreCoding.idempotencyWindow)))
                       OR idempotency_keys.job_id = \(recordWithoutJob)
                    RETURNING job_id
                    """)
                guard recorded != nil else { throw PostgresRetry() }
            }
            return .created(job, quota)
        }
    }

    public func quota(keyID: String, limit: Int, at: Date) async throws -> QuotaStatus {
        try await withSession { db in try await self.quota(db, keyID: keyID, limit: limit, now: at) }
    }

    func quota(_ db: PostgresSession, keyID: String, limit: Int, now: Date) async throws -> QuotaStatus {
        let row = try await db.row("""
            SELECT COALESCE(SUM(count), 0)::bigint AS used, MIN(bucket) AS oldest FROM quota_buckets
            WHERE key_id = \(keyID) AND bucket >= \(QuotaWindow.firstBucket(at: now))
            """)?.makeRandomAccess()
        let used = try row?.value("used", as: Int.self) ?? 0
        let oldest = try row?.value("oldest", as: Int64?.self)
        return QuotaStatus(limit: limit, used: used, resetAt: oldest.map(QuotaWindow.expiry(ofBucket:)) ?? now)
    }

    public func job(id: String, accountID: String, environment: KeyEnvironment) async throws -> Job? {
        try await withSession { db in
            try await db.row("""
                SELECT \(unescaped: JobColumns.list) FROM jobs
                WHERE id = \(id) AND account_id = \(accountID) AND environment = \(environment.rawValue)
                """
            ).map(Job.init(row:))
        }
    }

    public func job(id: String) async throws -> Job? {
        try await withSession { db in try await self.fetchJob(db, id: id) }
    }

    public func jobs(accountID: String?, environment: KeyEnvironment?, status: JobStatus?, limit: Int, before: String?) async throws -> [Job] {
        try await withSession { db in
            try await db.rows("""
                SELECT \(unescaped: JobColumns.list) FROM jobs
                WHERE (\(accountID)::text IS NULL OR account_id = \(accountID))
                  AND (\(environment?.rawValue)::text IS NULL OR environment = \(environment?.rawValue))
                  AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                  AND (\(before)::text IS NULL OR id < \(before))
                ORDER BY id DESC LIMIT \(limit)
                """
            ).map(Job.init(row:))
        }
    }

    func fetchJob(_ db: PostgresSession, id: String) async throws -> Job? {
        try await db.row("SELECT \(unescaped: JobColumns.list) FROM jobs WHERE id = \(id)").map(Job.init(row:))
    }

    /// `routed_model` (a job of an alias) and `trace_parent` (a traced submission) are written only
    /// when set; otherwise they keep their default (NULL), so the insert is the same on a schema
    /// from before those columns (the migration upgrade tests insert through this into old schemas).
    func insertJob(_ db: PostgresSession, _ job: Job) async throws {
        var optional: [(column: String, value: String)] = []
        if let routedModel = job.routedModel { optional.append(("routed_model", routedModel)) }
        if let traceParent = job.traceParent { optional.append(("trace_parent", traceParent)) }
        var query: PostgresQuery = """
            INSERT INTO jobs (
                id, account_id, key_id, environment, model_id, provider, upstream_model, mode, prompt, image_url, image_key,
                aspect_ratio, duration, webhook_url, metadata, status, progress, credits_reserved, credits_used,
                attempts, next_attempt_at, deadline_at, created_at, updated_at\(unescaped: optional.map { ", " + $0.column }.joined())
            ) VALUES (
                \(job.id), \(job.accountID), \(job.keyID), \(job.environment.rawValue), \(job.modelID), \(job.provider.rawValue),
                \(job.upstreamModel), \(job.mode.rawValue), \(job.prompt), \(job.imageURL), \(job.imageKey), \(job.aspectRatio.rawValue),
                \(job.duration), \(job.webhookURL), \(StoreCoding.encodeMetadata(job.metadata)), \(job.status.rawValue), \(job.progress),
                \(job.creditsReserved), \(job.creditsUsed), 0, \(StoreCoding.millis(job.nextAttemptAt)), \(StoreCoding.millis(job.deadlineAt)),
                \(StoreCoding.millis(job.createdAt)), \(StoreCoding.millis(job.updatedAt))
            """
        for (_, value) in optional {
            query.binds.append(value)
            query.sql += ", $\(query.binds.count)"
        }
        query.sql += ")"
        try await db.run(query)
    }
}
