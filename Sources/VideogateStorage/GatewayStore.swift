import Foundation
import VideogateDomain

/// Everything videogate keeps in its database, behind one protocol with a SQLite and (later) a
/// PostgreSQL implementation. Every method is one transaction: what must change together
/// (a job and its hold, a final state and its capture or release) changes in one call.
public protocol GatewayStore: Sendable {
    /// Creates or upgrades the schema. Safe to call from several processes at once.
    func migrate() async throws
    /// Throws when the database cannot be reached.
    func ping() async throws
    /// Closes connections; the store is unusable afterwards.
    func close() async throws

    // MARK: Accounts and keys

    /// Stores a new account with zero balances.
    func createAccount(_ account: Account) async throws
    func account(id: String) async throws -> Account?
    /// Whether any account exists (first-start bootstrap).
    func hasAccounts() async throws -> Bool
    /// Changes plan and/or daily limit; nil when the account does not exist.
    func updateAccount(id: String, plan: Plan?, dailyLimit: Int?) async throws -> Account?
    /// Replaces the webhook secret; nil when the account does not exist.
    func rotateWebhookSecret(accountID: String, secret: String) async throws -> Account?
    /// Stores a new key (its hash only).
    func createKey(_ key: APIKey) async throws
    /// The unrevoked key with this SHA-256 hash, its account, the key's use of its daily limit at
    /// `at` when `withQuota`, and, when `jobID` is given, that job if it is the account's — all in
    /// one read, since every `/v1` request starts here and polls need nothing more. Nil for an
    /// unknown or revoked key.
    func authenticate(keyHash: String, at: Date, jobID: String?, withQuota: Bool) async throws -> AuthenticatedKey?
    /// Revokes a key; false when there is no such key.
    func revokeKey(id: String, at: Date) async throws -> Bool

    // MARK: Ledger

    /// Balances of both environments (zero where nothing was ever granted).
    func balances(accountID: String) async throws -> [KeyEnvironment: Balance]
    /// Adds (or, negative, removes) credits. Throws `StoreError.wouldGoBelowHeld` when removal
    /// would leave less than is held, `StoreError.notFound` for an unknown account.
    func grant(accountID: String, environment: KeyEnvironment, amount: Int, reason: String?, at: Date) async throws -> Balance
    /// Ledger entries, newest first (in the order they were written), after the entry `before` when given.
    func ledger(accountID: String, limit: Int, before: String?) async throws -> [LedgerEntry]

    // MARK: Quota

    /// A key's use of its daily limit, without counting anything.
    func quota(keyID: String, limit: Int, at: Date) async throws -> QuotaStatus

    // MARK: Jobs

    /// Runs the whole submission decision of `POST /v1/video` in one transaction.
    func submit(_ command: SubmitCommand) async throws -> SubmitOutcome
    /// A job of an account (nil when it is absent or another account's).
    func job(id: String, accountID: String) async throws -> Job?
    /// A job by id whatever its account (workers, admin, signed file URLs).
    func job(id: String) async throws -> Job?
    /// Jobs newest first: of one account or all (`accountID` nil), optionally of one status,
    /// with ids below `before` when given.
    func jobs(accountID: String?, status: JobStatus?, limit: Int, before: String?) async throws -> [Job]

    // MARK: Queue

    /// Leases unfinished jobs that are due (next attempt or deadline reached) and not leased by a
    /// live worker, to `request.owner` until `request.leaseUntil`: round-robin across accounts, up
    /// to the free slots of each lane, within the per-account cap (`ClaimRequest`). A job whose
    /// lease ran out is due again.
    func claimJobs(_ request: ClaimRequest) async throws -> [Job]
    /// Leases again one unfinished job this worker has just stored a step of, when no one else
    /// holds it, without waiting for it to be due (a sandbox job runs to its end in one lane slot).
    /// Counts an attempt like a claim. Nil when the job is finished or leased by someone else.
    func resumeLease(jobID: String, owner: String, now: Date, leaseUntil: Date) async throws -> Job?
    /// Extends a lease still held by `owner`; false when the lease was lost.
    func renewLease(jobID: String, owner: String, until: Date) async throws -> Bool
    /// Gives up a lease without changing the job (shutdown): it is due again at once. Completes
    /// even when called from a cancelled task.
    func releaseLease(jobID: String, owner: String) async throws
    /// Stores a decided transition and its ledger effect in one transaction and frees the lease,
    /// only while `owner` still holds the lease and the job is unfinished. False otherwise
    /// (nothing changed: the job was finished or taken over by someone else).
    func apply(_ transition: JobTransition, owner: String, at: Date) async throws -> Bool

    // MARK: Housekeeping

    /// Completed jobs whose results expired and are not yet deleted.
    func expiredResults(now: Date, limit: Int) async throws -> [Job]
    /// Records that a job's result files are gone.
    func markResultDeleted(jobID: String) async throws
    /// Removes idempotency records and quota counts that no longer matter.
    func purge(now: Date) async throws
    /// Figures for `/metrics`.
    func stats(now: Date) async throws -> StoreStats

    // MARK: Webhooks

    // The outbox row of a delivery is written by `apply` itself, in the transaction of the final
    // state, when the job has a `webhook_url`: one per job.

    /// Leases up to `limit` pending deliveries whose next attempt is due and that no live
    /// deliverer holds, to `owner` until `leaseUntil`. A delivery whose lease ran out is due again.
    func claimWebhookDeliveries(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [WebhookDelivery]
    /// Stores an attempt and what follows it (the next attempt's time, delivered or failed) and frees
    /// the lease, only while `owner` still holds it and the delivery is pending; false otherwise
    /// (nothing changed).
    func recordWebhookAttempt(_ attempt: WebhookAttempt, deliveryID: String, owner: String, next: WebhookNext) async throws -> Bool
    /// Gives up a delivery's lease without an attempt (shutdown): it is due again at once. Completes
    /// even when called from a cancelled task.
    func releaseWebhookLease(deliveryID: String, owner: String) async throws
    /// A job's deliveries with their attempts, oldest first.
    func webhookDeliveries(jobID: String) async throws -> [WebhookDelivery]

    // MARK: OpenAI-compatible surface (`/v1/videos`)

    /// An account's jobs that were not deleted through `/v1/videos`, in id (creation) order,
    /// ascending or descending, starting after the id `after` in that order when given.
    func openAIVideos(accountID: String, after: String?, ascending: Bool, limit: Int) async throws -> [Job]
    /// Whether the job was deleted through `/v1/videos` (false for an unknown id).
    func isOpenAIVideoDeleted(jobID: String) async throws -> Bool
    /// Marks a finished job (`completed` or `error`) of the account as deleted through `/v1/videos`
    /// and its result files as deleted (the caller deletes the files first). False, and nothing
    /// changed, when the job is absent, another account's, unfinished or already deleted.
    func deleteOpenAIVideo(jobID: String, accountID: String, at: Date) async throws -> Bool
}

/// A key that authenticated, with its account and its daily-limit figures.
public struct AuthenticatedKey: Sendable {
    public var key: APIKey
    public var account: Account
    /// The key's daily-limit figures, when asked for.
    public var quota: QuotaStatus?
    /// The job asked for, when it exists and is the account's.
    public var job: Job?
    public init(key: APIKey, account: Account, quota: QuotaStatus?, job: Job? = nil) {
        self.key = key
        self.account = account
        self.quota = quota
        self.job = job
    }
}

extension GatewayStore {
    /// `authenticate(keyHash:at:jobID:withQuota:)` with the quota and without a job.
    public func authenticate(keyHash: String, at: Date) async throws -> AuthenticatedKey? {
        try await authenticate(keyHash: keyHash, at: at, jobID: nil, withQuota: true)
    }
}

/// What `submit` decides on.
public struct SubmitCommand: Sendable {
    public var key: APIKey
    public var account: Account
    /// The optional `Idempotency-Key` and the SHA-256 of the request body.
    public var idempotencyKey: String?
    public var requestHash: String
    /// The validated job, or the first failed body check (which still counts against the limit).
    public var validation: Result<Job, GatewayError>
    public var now: Date

    public init(key: APIKey, account: Account, idempotencyKey: String?, requestHash: String, validation: Result<Job, GatewayError>, now: Date) {
        self.key = key
        self.account = account
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.validation = validation
        self.now = now
    }
}

/// What `submit` decided.
public enum SubmitOutcome: Sendable {
    /// The job and its hold are stored.
    case created(Job, QuotaStatus)
    /// The same idempotency key and body were seen within 24 h: the job created then.
    case replayed(Job, QuotaStatus)
    /// Refused; the quota status is what the rate-limit headers show.
    case refused(GatewayError, QuotaStatus)
}

/// Figures the store reports for metrics.
public struct StoreStats: Sendable, Equatable {
    public var jobsByStatus: [JobStatus: Int]
    /// Unfinished jobs that are due now.
    public var queueDepth: Int
    /// Credits held, per environment.
    public var heldCredits: [KeyEnvironment: Int]
    public init(jobsByStatus: [JobStatus: Int], queueDepth: Int, heldCredits: [KeyEnvironment: Int]) {
        self.jobsByStatus = jobsByStatus
        self.queueDepth = queueDepth
        self.heldCredits = heldCredits
    }
}

/// Failures a store reports as such (everything else is a database error).
public enum StoreError: Error, Sendable, Equatable {
    case notFound
    case wouldGoBelowHeld(Balance)
    case duplicate
}

extension GatewayStore {
    /// Leases up to `limit` due jobs of either lane, round-robin across accounts, with no account cap.
    public func claimJobs(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [Job] {
        try await claimJobs(ClaimRequest(owner: owner, limit: limit, now: now, leaseUntil: leaseUntil))
    }
}
