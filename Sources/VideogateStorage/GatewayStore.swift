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
    /// The feed of committed job changes that live status streams wait on (`JobChangeFeed`).
    func jobChangeFeed() -> any JobChangeFeed

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
    /// `at` when `withQuota`, and, when `jobID` is given, that job if it is the account's and of the
    /// key's environment (test and live keys never see each other's jobs) — all in one read, since
    /// every `/v1` request starts here and polls need nothing more. Nil for an
    /// unknown or revoked key.
    func authenticate(keyHash: String, at: Date, jobID: String?, withQuota: Bool) async throws -> AuthenticatedKey?
    /// Revokes a key; false when there is no such key.
    func revokeKey(id: String, at: Date) async throws -> Bool
    /// Sets a key's `spend_limit_daily`, or removes it (nil), revoked or not; the next submission of
    /// the key is decided against it. Nil when there is no such key.
    func setSpendLimit(keyID: String, spendLimitDaily: Int?) async throws -> APIKey?
    /// A key's spend limit as stored and the credits held or charged for its jobs created within
    /// `SpendLimit.window` before `at` (`SpendLimit`), read through the index on the key's jobs by
    /// creation time. `submit` decides again, inside its transaction.
    func keySpend(keyID: String, at: Date) async throws -> KeySpend

    /// Accounts by id (ids sort by creation time), newest first, after the cursor `before` (an id).
    func accounts(limit: Int, before: String?) async throws -> [Account]
    /// Every key of an account, revoked ones included, newest first (hashes only, never secrets).
    func keys(accountID: String) async throws -> [APIKey]

    // MARK: Console sessions

    /// Stores a new console session.
    func createConsoleSession(_ session: ConsoleSession) async throws
    /// The session with this hash if it has not expired at `at`.
    func consoleSession(idHash: String, at: Date) async throws -> ConsoleSession?
    /// Ends a session (sign-out), and removes every session expired at `at`.
    func deleteConsoleSession(idHash: String, at: Date) async throws

    // MARK: Ledger

    /// Balances of both environments (zero where nothing was ever granted).
    func balances(accountID: String) async throws -> [KeyEnvironment: Balance]
    /// Adds (or, negative, removes) credits. Throws `StoreError.wouldGoBelowHeld` when removal
    /// would leave less than is held, `StoreError.notFound` for an unknown account.
    func grant(accountID: String, environment: KeyEnvironment, amount: Int, reason: String?, at: Date) async throws -> Balance
    /// Ledger entries, newest first (in the order they were written), after the entry `before` when given.
    func ledger(accountID: String, limit: Int, before: String?) async throws -> [LedgerEntry]
    /// A job's ledger lines, its hold first, then its capture or release (read through the two
    /// partial unique indexes on `job_id`).
    func ledgerEntries(jobID: String) async throws -> [LedgerEntry]

    // MARK: Quota

    /// A key's use of its daily limit, without counting anything.
    func quota(keyID: String, limit: Int, at: Date) async throws -> QuotaStatus

    // MARK: Jobs

    /// Runs the whole submission decision of `POST /v1/video` in one transaction, in api.md's order:
    /// idempotent replay → daily limit (then counted) → body checks → the key's spend limit
    /// (`SpendLimit`, exact under concurrent submissions of the key, from any number of processes)
    /// → credits (the hold).
    func submit(_ command: SubmitCommand) async throws -> SubmitOutcome
    /// A job of an account in one environment (nil when it is absent, another account's or of the
    /// other environment).
    func job(id: String, accountID: String, environment: KeyEnvironment) async throws -> Job?
    /// A job by id whatever its account (workers, admin, signed file URLs).
    func job(id: String) async throws -> Job?
    /// Jobs newest first: of one account or all (`accountID` nil), of one environment or both
    /// (`environment` nil), optionally of one status, with ids below `before` when given.
    func jobs(accountID: String?, environment: KeyEnvironment?, status: JobStatus?, limit: Int, before: String?) async throws -> [Job]

    // MARK: Queue

    /// Leases unfinished jobs that are due (next attempt or deadline reached) and not leased by a
    /// live worker, to `request.owner` until `request.leaseUntil`: round-robin across accounts, up
    /// to the free slots of each lane, within the per-account cap (`ClaimRequest`). A job whose
    /// lease ran out is due again. Each claim writes a fresh random `leaseToken` into the row and
    /// returns it on the job: that token, not the owner, fences renew, apply and release.
    func claimJobs(_ request: ClaimRequest) async throws -> [Job]
    /// Leases again one unfinished job this worker has just stored a step of, when no one else
    /// holds it, without waiting for it to be due (a sandbox job runs to its end in one lane slot).
    /// Counts an attempt and writes a fresh token like a claim. Nil when the job is finished or
    /// leased by someone else.
    func resumeLease(jobID: String, owner: String, now: Date, leaseUntil: Date) async throws -> Job?
    /// Extends the lease of the claim that wrote `token`; false when that claim no longer holds the
    /// job (it was finished, released, or claimed again after the lease ran out).
    func renewLease(jobID: String, token: String, until: Date) async throws -> Bool
    /// Gives up the lease of the claim that wrote `token` without changing the job (shutdown): it is
    /// due again at once. Changes nothing when another claim holds the job. Completes even when
    /// called from a cancelled task.
    func releaseLease(jobID: String, token: String) async throws
    /// Stores a decided transition and its ledger effect in one transaction and frees the lease,
    /// only while the claim that wrote `token` still holds the job and the job is unfinished; a
    /// completion also updates its model's run time (`modelTimings`) in that transaction. False
    /// otherwise (nothing changed: the job was finished or claimed again by someone else).
    func apply(_ transition: JobTransition, token: String, at: Date) async throws -> Bool
    /// A client's cancel of a job of an account in one environment, decided by
    /// `JobStateMachine.cancel` in one transaction against the claim: a `pending` job that no worker
    /// holds under a lease live at `at` ends in `error` / `cancelled` with its hold released and its
    /// webhook outbox row written, stored exactly as `apply` stores a failure. A concurrent claim
    /// either takes the job first (the cancel then finds it leased) or does not take it at all.
    func cancel(jobID: String, accountID: String, environment: KeyEnvironment, at: Date) async throws -> CancelOutcome
    /// A provider's completion callback for a job: when the job is `processing` with `provider`,
    /// its next poll is moved to `at` unless it is due sooner, and true is returned; false (and
    /// nothing changed) for any other job, state or provider. Touches no lease: a worker polling the
    /// job now stores the time its own answer decided.
    func pollSoon(jobID: String, provider: ProviderKind, at: Date) async throws -> Bool

    // MARK: Provider credentials (operations.md, "Provider routing")

    /// The circuit breaker of every credential that has had an outcome recorded.
    func credentialHealth() async throws -> [CredentialHealth]
    /// Changes one credential's breaker in one transaction that holds its row: `change` gets the
    /// stored health (a closed one when none is stored) and returns the new one, or nil to change
    /// nothing. Returns the stored health when `change` changed it, else nil. Every process shares it.
    func updateCredentialHealth(
        name: String, provider: String, at: Date, _ change: @escaping @Sendable (CredentialHealth) -> CredentialHealth?
    ) async throws -> CredentialHealth?
    /// Binds the pending job held under `token` to `credential` (with its entry, no secrets) while
    /// that credential has fewer than `maxConcurrency` jobs in flight: `processing`, or `pending`
    /// under a live lease and bound to it, the job itself not counted. Counted and written in one
    /// transaction, serialised per credential, so across processes no credential takes more.
    /// False, changing nothing, when the credential is full or the lease is lost.
    func bindCredential(jobID: String, token: String, credential: String, definition: String, maxConcurrency: Int?, at: Date) async throws -> Bool
    /// Jobs in flight per credential name (as `bindCredential` counts them).
    func credentialsInFlight(at: Date) async throws -> [String: Int]

    // MARK: Queue position and estimates

    /// The claim order of the pending jobs due at `now` that no live lease holds: their places, lane
    /// by lane (live and sandbox), in the order of `claimJobs` with `accountMaxInFlight` as the
    /// account cap and free slots in both lanes. Jobs held back by the account cap come after every
    /// job that can be claimed now, in the same order among themselves. One statement, reading only
    /// unfinished jobs and taking no lock.
    func queueOrder(now: Date, accountMaxInFlight: Int) async throws -> QueueOrder
    /// The recent run time of every model that has completed jobs (one small table; completions
    /// update it in the transaction of their final state).
    func modelTimings() async throws -> [ModelTiming]

    // MARK: Usage

    /// Jobs created in `query.range` (of one account or all, of one environment or both) grouped by
    /// `query.grouping`, with how many ended completed or failed, the credits their captures charged
    /// and the requested seconds of the completed ones; read in one snapshot, exact to the
    /// millisecond. Groups without jobs are absent; rows come in ascending order of their group.
    /// Whole hours are read from the hourly rollup that the ledger effects keep (`applyLedger`), the
    /// parts of hours at either end from the jobs created in them, so the cost grows with the hours
    /// covered, not with the jobs.
    func usage(_ query: UsageQuery) async throws -> [UsageRow]

    // MARK: Housekeeping

    /// Completed jobs whose results expired and are not yet deleted, leaving out those whose
    /// deletion failed and is deferred past `now` (`deferResultDeletion`).
    func expiredResults(now: Date, limit: Int) async throws -> [Job]
    /// Records that a job's result files are gone.
    func markResultDeleted(jobID: String) async throws
    /// Records that deleting a job's result files failed: counts the failure and hides the job from
    /// `expiredResults` until `retryAt(failures)`, where `failures` counts this one too. Returns
    /// that count (0 when the job is unknown).
    func deferResultDeletion(jobID: String, retryAt: @Sendable (Int) -> Date) async throws -> Int
    /// Removes idempotency records past the replay window, quota counts past the daily window,
    /// and finished webhook deliveries and their attempts past `retention`, in batches of
    /// `retention.batchSize` rows, each batch its own transaction.
    func purge(now: Date, retention: Retention) async throws -> PurgeReport
    /// Figures for `/metrics`, each read from an index or a maintained counter (no table scan).
    func stats(now: Date) async throws -> StoreStats

    // MARK: Webhooks

    // The outbox row of a delivery is written by `apply` (or `cancel`) itself, in the transaction
    // of the final state, when the job has a `webhook_url`: one per job.

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
    /// Queues one more attempt of a job's delivery, due at `at` (the operator's redelivery): a
    /// delivered or failed one becomes pending again, keeping its attempts and its `webhook-id`.
    /// False when the job has no such delivery, or a worker holds it right now.
    func redeliverWebhook(deliveryID: String, jobID: String, at: Date) async throws -> Bool

    // MARK: OpenAI-compatible surface (`/v1/videos`)

    /// An account's jobs of one environment that were not deleted through `/v1/videos`, in id
    /// (creation) order, ascending or descending, starting after the id `after` in that order when given.
    func openAIVideos(accountID: String, environment: KeyEnvironment, after: String?, ascending: Bool, limit: Int) async throws -> [Job]
    /// Whether the job was deleted through `/v1/videos` (false for an unknown id).
    func isOpenAIVideoDeleted(jobID: String) async throws -> Bool
    /// Marks a finished job (`completed` or `error`) of the account through `/v1/videos`
    /// of this environment as deleted through `/v1/videos` and its result files as deleted (the
    /// caller deletes the files first). False, and nothing changed, when the job is absent, another
    /// account's, of the other environment, unfinished or already deleted.
    func deleteOpenAIVideo(jobID: String, accountID: String, environment: KeyEnvironment, at: Date) async throws -> Bool
}

/// A key that authenticated, with its account and its daily-limit figures.
public struct AuthenticatedKey: Sendable {
    public var key: APIKey
    public var account: Account
    /// The key's daily-limit figures, when asked for.
    public var quota: QuotaStatus?
    /// The job asked for, when it exists, is the account's and is of the key's environment.
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

    /// `jobs(accountID:environment:status:limit:before:)` over both environments (admin views).
    public func jobs(accountID: String?, status: JobStatus?, limit: Int, before: String?) async throws -> [Job] {
        try await jobs(accountID: accountID, environment: nil, status: status, limit: limit, before: before)
    }
}

/// What `submit` decides on.
public struct SubmitCommand: Sendable {
    public var key: APIKey
    public var account: Account
    /// The optional `Idempotency-Key` (scoped to the account and the key's environment) and the
    /// SHA-256 of the request body.
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

/// What `cancel` decided.
public enum CancelOutcome: Sendable, Equatable {
    /// The job was cancelled now; as stored.
    case cancelled(Job)
    /// The job had been cancelled before; nothing changed.
    case alreadyCancelled(Job)
    /// The job is leased to a worker, with its provider, or finished otherwise; nothing changed.
    case notCancellable(Job)
    /// No such job for this account and environment.
    case notFound
}

/// Figures the store reports for metrics.
public struct StoreStats: Sendable, Equatable {
    /// Jobs per status: unfinished ones counted through the status index, finished ones
    /// (`completed`, `error`) from counters kept by the database in the transaction of each change.
    public var jobsByStatus: [JobStatus: Int]
    /// Unfinished jobs that are due now.
    public var queueDepth: Int
    /// Credits held, per environment: the sum over balances holding credits, through a partial index.
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
