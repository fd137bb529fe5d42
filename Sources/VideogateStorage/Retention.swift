import Foundation

/// How long records that no longer matter are kept before `GatewayStore.purge` removes them.
///
/// Idempotency records are kept for the 24 h replay window of api.md and quota counts for the
/// rolling day of the daily limit; neither is configurable. Jobs, their ledger entries and
/// balances are the accounting record and are never purged (a job's result files are deleted at
/// `expires_at`, its row stays).
public struct Retention: Sendable, Equatable {
    /// How long a finished webhook delivery (delivered or failed) and its attempts are kept after
    /// the delivery finished. Pending deliveries are never purged.
    public var webhookHistory: TimeInterval
    /// The most rows one purge statement removes, so that a backlog is cleared in short transactions.
    public var batchSize: Int

    public init(webhookHistory: TimeInterval = 30 * 86_400, batchSize: Int = 1_000) {
        self.webhookHistory = webhookHistory
        self.batchSize = batchSize
    }
}

/// What one `purge` removed.
public struct PurgeReport: Sendable, Equatable {
    public var idempotencyKeys = 0
    public var quotaBuckets = 0
    public var webhookDeliveries = 0
    public var webhookAttempts = 0
    public init(idempotencyKeys: Int = 0, quotaBuckets: Int = 0, webhookDeliveries: Int = 0, webhookAttempts: Int = 0) {
        self.idempotencyKeys = idempotencyKeys
        self.quotaBuckets = quotaBuckets
        self.webhookDeliveries = webhookDeliveries
        self.webhookAttempts = webhookAttempts
    }
    /// Rows removed in all.
    public var total: Int { idempotencyKeys + quotaBuckets + webhookDeliveries + webhookAttempts }
}
