import Foundation
import VideogateDomain

/// An account as `/admin` shows it (with its webhook secret and balances).
struct AdminAccountView: Encodable {
    let id: String
    let name: String
    let plan: String
    let dailyLimit: Int
    let createdAt: String
    let webhookSecret: String
    let balances: [String: BalanceView]
    enum CodingKeys: String, CodingKey {
        case id, name, plan, balances
        case dailyLimit = "daily_limit"
        case createdAt = "created_at"
        case webhookSecret = "webhook_secret"
    }
    init(_ account: Account, balances: [KeyEnvironment: Balance]) {
        id = account.id
        name = account.name
        plan = account.plan.rawValue
        dailyLimit = account.dailyLimit
        createdAt = account.createdAt.rfc3339
        webhookSecret = account.webhookSecret
        self.balances = balancesView(balances)
    }
}

struct AdminAccountEnvelope: Encodable {
    let success = true
    let account: AdminAccountView
}

struct AdminKeyCreated: Encodable {
    let success = true
    let key: String
    let keyID: String
    let environment: String
    let accountID: String
    /// JSON null when the key has no spend limit.
    let spendLimitDaily: NullOr<Int>
    enum CodingKeys: String, CodingKey {
        case success, key, environment
        case keyID = "key_id"
        case accountID = "account_id"
        case spendLimitDaily = "spend_limit_daily"
    }
}

struct AdminLedgerEntryView: Encodable {
    struct After: Encodable {
        let total: Int
        let held: Int
        let available: Int
    }
    let id: String
    let kind: String
    let environment: String
    let amount: Int
    let jobID: String?
    let reason: String?
    let balanceAfter: After
    let createdAt: String
    enum CodingKeys: String, CodingKey {
        case id, kind, environment, amount, reason
        case jobID = "job_id"
        case balanceAfter = "balance_after"
        case createdAt = "created_at"
    }
    init(_ entry: LedgerEntry) {
        id = entry.id
        kind = entry.kind.rawValue
        environment = entry.environment.rawValue
        amount = entry.amount
        jobID = entry.jobID
        reason = entry.reason
        balanceAfter = After(total: entry.balanceAfter.total, held: entry.balanceAfter.held, available: entry.balanceAfter.available)
        createdAt = entry.createdAt.rfc3339
    }
}

/// A job with what operators need: provider ids, attempts, lease and timings.
struct AdminJobView: Encodable {
    let id: String
    let accountID: String
    let keyID: String
    let environment: String
    let model: String
    let provider: String
    let upstreamModel: String
    let status: String
    let progress: Int?
    let providerJobID: String?
    let providerRequestID: String?
    let attempts: Int
    let creditsReserved: Int
    let creditsUsed: Int
    let error: JobView.Failure?
    let createdAt: String
    let submittedAt: String?
    let completedAt: String?
    let updatedAt: String
    let nextAttemptAt: String
    let deadlineAt: String
    let leaseOwner: String?
    let leaseExpiresAt: String?
    let expiresAt: String?
    let videoBytes: Int64?
    let videoDurationMs: Int?
    /// The credential the job is bound to (operations.md, "Provider routing").
    let credential: String?

    enum CodingKeys: String, CodingKey {
        case id, environment, model, provider, status, progress, attempts, error, credential
        case accountID = "account_id"
        case keyID = "key_id"
        case upstreamModel = "upstream_model"
        case providerJobID = "provider_job_id"
        case providerRequestID = "provider_request_id"
        case creditsReserved = "credits_reserved"
        case creditsUsed = "credits_used"
        case createdAt = "created_at"
        case submittedAt = "submitted_at"
        case completedAt = "completed_at"
        case updatedAt = "updated_at"
        case nextAttemptAt = "next_attempt_at"
        case deadlineAt = "deadline_at"
        case leaseOwner = "lease_owner"
        case leaseExpiresAt = "lease_expires_at"
        case expiresAt = "expires_at"
        case videoBytes = "video_bytes"
        case videoDurationMs = "video_duration_ms"
    }

    init(_ job: Job) {
        id = job.id
        accountID = job.accountID
        keyID = job.keyID
        environment = job.environment.rawValue
        model = job.modelID
        provider = job.provider.rawValue
        upstreamModel = job.upstreamModel
        status = job.status.rawValue
        progress = job.progress
        providerJobID = job.providerJobID
        providerRequestID = job.providerRequestID
        attempts = job.attempts
        creditsReserved = job.creditsReserved
        creditsUsed = job.creditsUsed
        error = job.failure.map { JobView.Failure(code: $0.code.rawValue, message: $0.message) }
        createdAt = job.createdAt.rfc3339
        submittedAt = job.submittedAt?.rfc3339
        completedAt = job.completedAt?.rfc3339
        updatedAt = job.updatedAt.rfc3339
        nextAttemptAt = job.nextAttemptAt.rfc3339
        deadlineAt = job.deadlineAt.rfc3339
        leaseOwner = job.leaseOwner
        leaseExpiresAt = job.leaseExpiresAt?.rfc3339
        expiresAt = job.expiresAt?.rfc3339
        videoBytes = job.result?.videoBytes
        videoDurationMs = job.result?.durationMilliseconds
        credential = job.credential
    }
}
