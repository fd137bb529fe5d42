import Foundation

/// A key's daily spend limit (`spend_limit_daily`): the credits that the key's jobs created over the
/// last rolling 24 hours may hold or be charged, all together. A job counts from its creation until
/// 24 hours later: its price while it is unfinished (held) or once completed (charged), nothing once
/// it ended in `error` (its hold was released). A submission that would take the sum above the
/// limit is refused with 402 `spend_limit_exceeded`, right before the credits check.
public enum SpendLimit {
    /// How long a job counts after its creation.
    public static let window: TimeInterval = 86_400
    /// The largest limit an operator may set.
    public static let maxLimit = 1_000_000_000_000

    /// Jobs created after this instant count at `now`.
    public static func windowStart(at now: Date) -> Date { now.addingTimeInterval(-window) }

    /// Nil when a job of `price` fits under `limit` beside `spent` (always without a limit), else the refusal.
    public static func refusal(price: Int, spent: Int, limit: Int?) -> GatewayError? {
        guard let limit, spent + price > limit else { return nil }
        return GatewayError(
            .spendLimitExceeded,
            "This job costs \(price) credits and this key has spent \(spent) of its daily spend limit of \(limit) credits "
                + "over the last 24 hours.")
    }

    /// What is left of `limit` beside `spent`; nil without a limit.
    public static func remaining(spent: Int, limit: Int?) -> Int? {
        limit.map { max(0, $0 - spent) }
    }
}

/// A key's spend limit and what its jobs count against it now.
public struct KeySpend: Sendable, Equatable {
    /// The key's `spend_limit_daily`; nil when it has none.
    public var limit: Int?
    /// Credits held or charged for the key's jobs created over the last 24 hours.
    public var spent: Int
    public init(limit: Int?, spent: Int) {
        self.limit = limit
        self.spent = spent
    }
    /// What is left of the limit; nil without one.
    public var remaining: Int? { SpendLimit.remaining(spent: spent, limit: limit) }
}
