import Dispatch
import Foundation
import Synchronization
import VideogateDomain
import VideogateStorage

/// Waits `duration` without answering cancellation, as a call hung in a database or kernel does.
func uncancellableSleep(_ duration: Duration) async {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { continuation.resume() }
    }
}

/// A store whose next lease renewal, once asked for, stalls (for `stall`, ignoring cancellation)
/// as a call does on a database that stopped answering; everything else goes straight through.
final class StallingStore: GatewayStore {
    let base: any GatewayStore
    let stall: Duration
    private let flag = Atomic(false)

    init(_ base: any GatewayStore, stall: Duration) {
        self.base = base
        self.stall = stall
    }

    /// Makes the next renewal stall.
    func stallNextRenewal() { flag.store(true, ordering: .releasing) }

    func renewLease(jobID: String, token: String, until: Date) async throws -> Bool {
        if flag.exchange(false, ordering: .acquiringAndReleasing) { await uncancellableSleep(stall) }
        return try await base.renewLease(jobID: jobID, token: token, until: until)
    }

    func migrate() async throws { try await base.migrate() }
    func ping() async throws { try await base.ping() }
    func close() async throws { try await base.close() }
    func jobChangeFeed() -> any JobChangeFeed { base.jobChangeFeed() }
    func createAccount(_ account: Account) async throws { try await base.createAccount(account) }
    func account(id: String) async throws -> Account? { try await base.account(id: id) }
    func hasAccounts() async throws -> Bool { try await base.hasAccounts() }
    func ledgerEntries(jobID: String) async throws -> [LedgerEntry] { try await base.ledgerEntries(jobID: jobID) }
    func redeliverWebhook(deliveryID: String, jobID: String, at: Date) async throws -> Bool {
        try await base.redeliverWebhook(deliveryID: deliveryID, jobID: jobID, at: at)
    }
    func accounts(limit: Int, before: String?) async throws -> [Account] { try await base.accounts(limit: limit, before: before) }
    func keys(accountID: String) async throws -> [APIKey] { try await base.keys(accountID: accountID) }
    func createConsoleSession(_ session: ConsoleSession) async throws { try await base.createConsoleSession(session) }
    func consoleSession(idHash: String, at: Date) async throws -> ConsoleSession? { try await base.consoleSession(idHash: idHash, at: at) }
    func deleteConsoleSession(idHash: String, at: Date) async throws { try await base.deleteConsoleSession(idHash: idHash, at: at) }
    func updateAccount(id: String, plan: Plan?, dailyLimit: Int?) async throws -> Account? {
        try await base.updateAccount(id: id, plan: plan, dailyLimit: dailyLimit)
    }
    func rotateWebhookSecret(accountID: String, secret: String) async throws -> Account? {
        try await base.rotateWebhookSecret(accountID: accountID, secret: secret)
    }
    func createKey(_ key: APIKey) async throws { try await base.createKey(key) }
    func authenticate(keyHash: String, at: Date, jobID: String?, withQuota: Bool) async throws -> AuthenticatedKey? {
        try await base.authenticate(keyHash: keyHash, at: at, jobID: jobID, withQuota: withQuota)
    }
    func revokeKey(id: String, at: Date) async throws -> Bool { try await base.revokeKey(id: id, at: at) }
    func setSpendLimit(keyID: String, spendLimitDaily: Int?) async throws -> APIKey? {
        try await base.setSpendLimit(keyID: keyID, spendLimitDaily: spendLimitDaily)
    }
    func keySpend(keyID: String, at: Date) async throws -> KeySpend { try await base.keySpend(keyID: keyID, at: at) }
    func balances(accountID: String) async throws -> [KeyEnvironment: Balance] { try await base.balances(accountID: accountID) }
    func grant(accountID: String, environment: KeyEnvironment, amount: Int, reason: String?, at: Date) async throws -> Balance {
        try await base.grant(accountID: accountID, environment: environment, amount: amount, reason: reason, at: at)
    }
    func ledger(accountID: String, limit: Int, before: String?) async throws -> [LedgerEntry] {
        try await base.ledger(accountID: accountID, limit: limit, before: before)
    }
    func quota(keyID: String, limit: Int, at: Date) async throws -> QuotaStatus { try await base.quota(keyID: keyID, limit: limit, at: at) }
    func submit(_ command: SubmitCommand) async throws -> SubmitOutcome { try await base.submit(command) }
    func job(id: String, accountID: String, environment: KeyEnvironment) async throws -> Job? {
        try await base.job(id: id, accountID: accountID, environment: environment)
    }
    func job(id: String) async throws -> Job? { try await base.job(id: id) }
    func jobs(accountID: String?, environment: KeyEnvironment?, status: JobStatus?, limit: Int, before: String?) async throws -> [Job] {
        try await base.jobs(accountID: accountID, environment: environment, status: status, limit: limit, before: before)
    }
    func claimJobs(_ request: ClaimRequest) async throws -> [Job] { try await base.claimJobs(request) }
    func resumeLease(jobID: String, owner: String, now: Date, leaseUntil: Date) async throws -> Job? {
        try await base.resumeLease(jobID: jobID, owner: owner, now: now, leaseUntil: leaseUntil)
    }
    func releaseLease(jobID: String, token: String) async throws { try await base.releaseLease(jobID: jobID, token: token) }
    func apply(_ transition: JobTransition, token: String, at: Date) async throws -> Bool {
        try await base.apply(transition, token: token, at: at)
    }
    func queueOrder(now: Date, accountMaxInFlight: Int) async throws -> QueueOrder {
        try await base.queueOrder(now: now, accountMaxInFlight: accountMaxInFlight)
    }
    func credentialHealth() async throws -> [CredentialHealth] { try await base.credentialHealth() }
    func updateCredentialHealth(
        name: String, provider: String, at: Date, _ change: @escaping @Sendable (CredentialHealth) -> CredentialHealth?
    ) async throws -> CredentialHealth? {
        try await base.updateCredentialHealth(name: name, provider: provider, at: at, change)
    }
    func bindCredential(jobID: String, token: String, credential: String, definition: String, maxConcurrency: Int?, at: Date) async throws -> Bool {
        try await base.bindCredential(jobID: jobID, token: token, credential: credential, definition: definition, maxConcurrency: maxConcurrency, at: at)
    }
    func credentialsInFlight(at: Date) async throws -> [String: Int] { try await base.credentialsInFlight(at: at) }
    func modelTimings() async throws -> [ModelTiming] { try await base.modelTimings() }
    func cancel(jobID: String, accountID: String, environment: KeyEnvironment, at: Date) async throws -> CancelOutcome {
        try await base.cancel(jobID: jobID, accountID: accountID, environment: environment, at: at)
    }
    func pollSoon(jobID: String, provider: ProviderKind, at: Date) async throws -> Bool {
        try await base.pollSoon(jobID: jobID, provider: provider, at: at)
    }
    func expiredResults(now: Date, limit: Int) async throws -> [Job] { try await base.expiredResults(now: now, limit: limit) }
    func markResultDeleted(jobID: String) async throws { try await base.markResultDeleted(jobID: jobID) }
    func deferResultDeletion(jobID: String, retryAt: @Sendable (Int) -> Date) async throws -> Int {
        try await base.deferResultDeletion(jobID: jobID, retryAt: retryAt)
    }
    func purge(now: Date, retention: Retention) async throws -> PurgeReport { try await base.purge(now: now, retention: retention) }
    func stats(now: Date) async throws -> StoreStats { try await base.stats(now: now) }
    func usage(_ query: UsageQuery) async throws -> [UsageRow] { try await base.usage(query) }
    func claimWebhookDeliveries(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [WebhookDelivery] {
        try await base.claimWebhookDeliveries(owner: owner, limit: limit, now: now, leaseUntil: leaseUntil)
    }
    func recordWebhookAttempt(_ attempt: WebhookAttempt, deliveryID: String, owner: String, next: WebhookNext) async throws -> Bool {
        try await base.recordWebhookAttempt(attempt, deliveryID: deliveryID, owner: owner, next: next)
    }
    func releaseWebhookLease(deliveryID: String, owner: String) async throws {
        try await base.releaseWebhookLease(deliveryID: deliveryID, owner: owner)
    }
    func webhookDeliveries(jobID: String) async throws -> [WebhookDelivery] { try await base.webhookDeliveries(jobID: jobID) }
    func openAIVideos(accountID: String, environment: KeyEnvironment, after: String?, ascending: Bool, limit: Int) async throws -> [Job] {
        try await base.openAIVideos(accountID: accountID, environment: environment, after: after, ascending: ascending, limit: limit)
    }
    func isOpenAIVideoDeleted(jobID: String) async throws -> Bool { try await base.isOpenAIVideoDeleted(jobID: jobID) }
    func deleteOpenAIVideo(jobID: String, accountID: String, environment: KeyEnvironment, at: Date) async throws -> Bool {
        try await base.deleteOpenAIVideo(jobID: jobID, accountID: accountID, environment: environment, at: at)
    }
}
