import Foundation

/// Where a webhook delivery stands. `delivered` and `failed` are final.
public enum WebhookDeliveryStatus: String, Sendable, Codable, CaseIterable {
    /// Waiting for its next attempt.
    case pending
    /// The receiver answered 2xx.
    case delivered
    /// The outbound rules refused the URL, or every attempt of the retry schedule failed.
    case failed
}

/// The POST of a job's final state to its `webhook_url`. It is written to the outbox in the same
/// transaction as the final state, so it is made even when the process dies right after.
public struct WebhookDelivery: Sendable, Equatable {
    /// `msg_<ULID>`: the `webhook-id` header, the same on every attempt (receivers deduplicate on it).
    public var id: String
    public var jobID: String
    public var accountID: String
    public var url: String
    /// The final status the delivery reports (`completed` or `error`).
    public var event: JobStatus
    public var status: WebhookDeliveryStatus
    /// Attempts made so far.
    public var attemptCount: Int
    /// When the next attempt is due (meaningful while `pending`).
    public var nextAttemptAt: Date
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?
    public var createdAt: Date
    /// When it was delivered or given up.
    public var finishedAt: Date?
    /// The attempts, oldest first; filled where the store says so.
    public var attempts: [WebhookAttempt]

    public init(
        id: String, jobID: String, accountID: String, url: String, event: JobStatus, status: WebhookDeliveryStatus, attemptCount: Int,
        nextAttemptAt: Date, leaseOwner: String?, leaseExpiresAt: Date?, createdAt: Date, finishedAt: Date?, attempts: [WebhookAttempt] = []
    ) {
        self.id = id
        self.jobID = jobID
        self.accountID = accountID
        self.url = url
        self.event = event
        self.status = status
        self.attemptCount = attemptCount
        self.nextAttemptAt = nextAttemptAt
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.attempts = attempts
    }
}

/// One POST of a delivery, as the admin API shows it.
public struct WebhookAttempt: Sendable, Equatable {
    /// 1 for the first attempt.
    public var number: Int
    public var attemptedAt: Date
    /// The receiver's HTTP status; nil when no answer came (refused, connection failure, time-out).
    public var statusCode: Int?
    public var latencyMilliseconds: Int
    /// Why the attempt failed; nil when it succeeded.
    public var error: String?

    public init(number: Int, attemptedAt: Date, statusCode: Int?, latencyMilliseconds: Int, error: String?) {
        self.number = number
        self.attemptedAt = attemptedAt
        self.statusCode = statusCode
        self.latencyMilliseconds = latencyMilliseconds
        self.error = error
    }
}

/// What one attempt came to.
public enum WebhookAttemptOutcome: Sendable, Equatable {
    /// The receiver answered with this status (redirects are not followed: a 3xx is a failure).
    case answered(status: Int)
    /// Connecting, TLS, reading or the time bound failed, or the request could not be made: it may work later.
    case unreachable(String)
    /// The outbound rules refuse the URL or the address it resolved to: retrying cannot help.
    case refused(String)

    public var statusCode: Int? {
        if case .answered(let status) = self { status } else { nil }
    }

    public var isSuccess: Bool { statusCode.map { (200..<300).contains($0) } ?? false }

    /// The attempt's error text; nil for a 2xx.
    public var errorText: String? {
        switch self {
        case .answered(let status) where (200..<300).contains(status): nil
        case .answered(let status) where (300..<400).contains(status): "the receiver answered \(status); redirects are not followed"
        case .answered(let status): "the receiver answered \(status)"
        case .unreachable(let reason): reason
        case .refused(let reason): "refused by the outbound rules: \(reason)"
        }
    }
}

/// What follows an attempt.
public enum WebhookNext: Sendable, Equatable {
    case delivered
    case retry(at: Date)
    case failed

    /// The delivery's status after it.
    public var status: WebhookDeliveryStatus {
        switch self {
        case .delivered: .delivered
        case .retry: .pending
        case .failed: .failed
        }
    }
}
