import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    public func submit(_ command: SubmitCommand) async throws -> SubmitOutcome {
        try await submitBatcher.run { db in
            let now = command.now
            // 1. An idempotent replay answers before anything is counted. Keys are scoped to the
            // account and the key's environment: a test request never replays into a live one.
            if let idempotencyKey = command.idempotencyKey,
                let record = try db.row(sql: """
                        SELECT request_hash, job_id FROM idempotency_keys
                        WHERE account_id = ? AND environment = ? AND key = ? AND created_at >= ?
                        """,
                    arguments: [
                        command.account.id, command.key.environment.rawValue, idempotencyKey,
                        StoreCoding.millis(now.addingTimeInterval(-StoreCoding.idempotencyWindow)),
                    ])
            {
                let quota = try self.quota(db, keyID: command.key.id, limit: command.account.dailyLimit, now: now)
                guard record["request_hash"] as String == command.requestHash else {
                    return .refused(StoreCoding.idempotencyConflict(), quota)
                }
                if let job = try self.fetchJob(db, id: record["job_id"]) { return .replayed(job, quota) }
            }
            // 2. The daily limit; a refusal by the limit itself is not counted.
            var quota = try self.quota(db, keyID: command.key.id, limit: command.account.dailyLimit, now: now)
            if quota.isExhausted { return .refused(StoreCoding.rateLimited(quota, now: now), quota) }
            try db.run(sql: """
                    INSERT INTO quota_buckets (key_id, bucket, count) VALUES (?, ?, 1)
                    ON CONFLICT (key_id, bucket) DO UPDATE SET count = count + 1
                    """,
                arguments: [command.key.id, QuotaWindow.bucket(for: now)])
            if quota.used == 0 { quota.resetAt = QuotaWindow.expiry(ofBucket: QuotaWindow.bucket(for: now)) }
            quota.used += 1
            // 3. The body checks (counted, even when they failed).
            let job: Job
            switch command.validation {
            case .failure(let error): return .refused(error, quota)
            case .success(let validated): job = validated
            }
            // 4. The key's spend limit, as stored now (a change applies to the next submission).
            if let refusal = try self.spendLimitRefusal(db, job: job, now: now) { return .refused(refusal, quota) }
            // 5. Credits: the hold is a conditional update, so racing submissions cannot overdraw.
            guard try self.applyLedger(db, job: job, kind: .hold, at: now) != nil else {
                let balance = try db.row(sql: "SELECT total - held AS available FROM balances WHERE account_id = ? AND environment = ?",
                    arguments: [job.accountID, job.environment.rawValue])
                return .refused(StoreCoding.insufficientCredits(price: job.creditsReserved, available: balance?["available"] ?? 0), quota)
            }
            try self.insertJob(db, job)
            if let idempotencyKey = command.idempotencyKey {
                try db.run(sql: """
                        INSERT INTO idempotency_keys (account_id, environment, key, request_hash, job_id, created_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (account_id, environment, key) DO UPDATE
                        SET request_hash = excluded.request_hash, job_id = excluded.job_id, created_at = excluded.created_at
                        """,
                    arguments: [
                        job.accountID, job.environment.rawValue, idempotencyKey, command.requestHash, job.id, StoreCoding.millis(now),
                    ])
            }
            return .created(job, quota)
        }
    }

    public func quota(keyID: String, limit: Int, at: Date) async throws -> QuotaStatus {
        try read { db in try self.quota(db, keyID: keyID, limit: limit, now: at) }
    }

    func quota(_ db: Database, keyID: String, limit: Int, now: Date) throws -> QuotaStatus {
        let row = try db.row(sql: "SELECT COALESCE(SUM(count), 0) AS used, MIN(bucket) AS oldest FROM quota_buckets WHERE key_id = ? AND bucket >= ?",
            arguments: [keyID, QuotaWindow.firstBucket(at: now)])
        let used: Int = row?["used"] ?? 0
        let oldest: Int64? = row?["oldest"]
        return QuotaStatus(limit: limit, used: used, resetAt: oldest.map(QuotaWindow.expiry(ofBucket:)) ?? now)
    }

    public func job(id: String, accountID: String, environment: KeyEnvironment) async throws -> Job? {
        try read { db in
            try db.row(sql: "SELECT \(JobColumns.list) FROM jobs WHERE id = ? AND account_id = ? AND environment = ?",
                arguments: [id, accountID, environment.rawValue]
            ).map(Job.init(row:))
        }
    }

    public func job(id: String) async throws -> Job? {
        try read { db in try self.fetchJob(db, id: id) }
    }

    public func jobs(accountID: String?, environment: KeyEnvironment?, status: JobStatus?, limit: Int, before: String?) async throws -> [Job] {
        try read { db in
            try db.rows(sql: """
                    SELECT \(JobColumns.list) FROM jobs
                    WHERE (?1 IS NULL OR account_id = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR id < ?3)
                      AND (?5 IS NULL OR environment = ?5)
                    ORDER BY id DESC LIMIT ?4
                    """,
                arguments: [accountID, status?.rawValue, before, limit, environment?.rawValue]
            ).map(Job.init(row:))
        }
    }

    func fetchJob(_ db: Database, id: String) throws -> Job? {
        try db.row(sql: "SELECT \(JobColumns.list) FROM jobs WHERE id = ?", arguments: [id]).map(Job.init(row:))
    }

    /// `routed_model` (a job of an alias) and `trace_parent` (a traced submission) are written only
    /// when set; otherwise they keep their default (NULL), so the insert is the same on a schema
    /// from before those columns (the migration upgrade tests insert through this into old schemas).
    func insertJob(_ db: Database, _ job: Job) throws {
        var optional: [(column: String, value: String)] = []
        if let routedModel = job.routedModel { optional.append(("routed_model", routedModel)) }
        if let traceParent = job.traceParent { optional.append(("trace_parent", traceParent)) }
        var arguments: StatementArguments = [
            job.id, job.accountID, job.keyID, job.environment.rawValue, job.modelID, job.provider.rawValue, job.upstreamModel,
            job.mode.rawValue, job.prompt, job.imageURL, job.imageKey, job.aspectRatio.rawValue, job.duration, job.webhookURL,
            StoreCoding.encodeMetadata(job.metadata), job.status.rawValue, job.progress, job.creditsReserved, job.creditsUsed,
            StoreCoding.millis(job.nextAttemptAt), StoreCoding.millis(job.deadlineAt), StoreCoding.millis(job.createdAt),
            StoreCoding.millis(job.updatedAt),
        ]
        for (_, value) in optional { arguments += [value] }
        try db.run(sql: """
                INSERT INTO jobs (
                    id, account_id, key_id, environment, model_id, provider, upstream_model, mode, prompt, image_url, image_key,
                    aspect_ratio, duration, webhook_url, metadata, status, progress, credits_reserved, credits_used,
                    attempts, next_attempt_at, deadline_at, created_at, updated_at\(optional.map { ", " + $0.column }.joined())
                ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?\(String(repeating: ", ?", count: optional.count)))
                """,
            arguments: arguments)
    }
}
