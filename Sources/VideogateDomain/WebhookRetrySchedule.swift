import Foundation

/// When failed webhook attempts are retried: the first retry `base` seconds after the first
/// attempt, each later one twice as long after the previous (at most `maximumDelay`), each
/// stretched by up to 20 % of jitter so that many receivers failing at once are not retried in
/// lockstep. The schedule has as many retries as it takes for the delays *without* jitter to add
/// up to `minimumSpan`, so a delivery is tried for at least 24 hours before it is marked failed.
public struct WebhookRetrySchedule: Sendable, Equatable {
    /// How long failing deliveries are retried at least.
    public static let minimumSpan: TimeInterval = 24 * 3600
    /// The longest wait between two attempts (before jitter).
    public static let maximumDelay: TimeInterval = 4 * 3600
    /// Jitter stretches a delay by up to this fraction, never shortens it.
    public static let jitterFraction = 0.2

    /// The delay before retry 1, 2, ... without jitter.
    public let delays: [TimeInterval]

    /// - Parameter base: seconds before the first retry (`VIDEOGATE_WEBHOOK_RETRY_BASE_SECONDS`), above zero.
    public init(base: TimeInterval) {
        let base = max(0.001, base)
        var delays: [TimeInterval] = []
        var total: TimeInterval = 0
        var next = base
        while total < Self.minimumSpan {
            let delay = min(next, Self.maximumDelay)
            delays.append(delay)
            total += delay
            next *= 2
        }
        self.delays = delays
    }

    /// Attempts a delivery gets in all: the first and every retry.
    public var maxAttempts: Int { delays.count + 1 }

    /// The delay before retry `retry` (1-based) with `jitter` in 0...1; nil past the last retry.
    public func delay(beforeRetry retry: Int, jitter: Double) -> TimeInterval? {
        guard retry >= 1, retry <= delays.count else { return nil }
        return delays[retry - 1] * (1 + Self.jitterFraction * min(1, max(0, jitter)))
    }

    /// What follows attempt number `attempt` (1-based) that came to `outcome` at `now`: a 2xx is
    /// delivered; a refusal of the outbound rules fails at once (retrying cannot change it); any
    /// other failure is retried on the schedule, and fails after the last retry.
    public func next(after outcome: WebhookAttemptOutcome, attempt: Int, now: Date, jitter: Double) -> WebhookNext {
        if outcome.isSuccess { return .delivered }
        if case .refused = outcome { return .failed }
        guard let delay = delay(beforeRetry: attempt, jitter: jitter) else { return .failed }
        return .retry(at: now.addingTimeInterval(delay))
    }
}
