import Foundation

/// A credential's circuit breaker state (operations.md, "Provider routing: Health").
public enum BreakerState: String, Sendable, Codable, CaseIterable {
    /// Working: new jobs may go to it.
    case closed
    /// Failing: no new job goes to it until `openedUntil`.
    case open
    /// Its open period is over and one real request is probing it.
    case halfOpen = "half_open"
}

/// A configured credential as the admin API lists it: no secret, no URL.
public struct CredentialSummary: Sendable, Equatable {
    public var name: String
    public var provider: ProviderKind
    public var route: String
    public var weight: Int
    public var maxConcurrency: Int?

    public init(name: String, provider: ProviderKind, route: String, weight: Int, maxConcurrency: Int?) {
        self.name = name
        self.provider = provider
        self.route = route
        self.weight = weight
        self.maxConcurrency = maxConcurrency
    }
}

/// When a breaker opens and for how long.
public struct BreakerPolicy: Sendable, Equatable {
    /// Consecutive failures that open a closed breaker.
    public var threshold: Int
    /// The first open period.
    public var baseOpen: TimeInterval
    /// The longest open period: each failed probe doubles it up to this.
    public var maxOpen: TimeInterval
    /// How long a probe may take before another worker may probe instead (its worker died).
    public var probeTimeout: TimeInterval

    public init(threshold: Int = 5, baseOpen: TimeInterval = 30, maxOpen: TimeInterval = 600, probeTimeout: TimeInterval = 120) {
        self.threshold = max(1, threshold)
        self.baseOpen = baseOpen
        self.maxOpen = max(baseOpen, maxOpen)
        self.probeTimeout = probeTimeout
    }

    public static let standard = BreakerPolicy()
}

/// What a create may do with a credential now.
public enum CredentialAvailability: Sendable, Equatable {
    /// Closed: use it.
    case usable
    /// Open and its period is over (or a probe was abandoned): the first to claim the probe uses it.
    case probe
    /// Open, or half-open with a probe under way.
    case unavailable(until: Date?)
}

/// A credential's health, shared by every process through the database: a circuit breaker over
/// the outcomes of creates sent with it. Failures are network errors, time-outs, 408, 429, 5xx and
/// refused credentials; a refusal of the request itself (bad parameters, content policy) is the
/// caller's outcome and leaves the breaker as it is.
public struct CredentialHealth: Sendable, Equatable {
    public var name: String
    public var provider: String
    public var state: BreakerState
    public var consecutiveFailures: Int
    /// The length of the current (or last) open period, in seconds; 0 before the first.
    public var openSeconds: Int
    public var openedUntil: Date?
    /// While half-open: when the probe's claim runs out.
    public var probeUntil: Date?
    public var lastError: String?
    public var lastFailureAt: Date?
    public var failuresTotal: Int
    public var successesTotal: Int
    public var updatedAt: Date

    public init(
        name: String, provider: String, state: BreakerState = .closed, consecutiveFailures: Int = 0, openSeconds: Int = 0,
        openedUntil: Date? = nil, probeUntil: Date? = nil, lastError: String? = nil, lastFailureAt: Date? = nil, failuresTotal: Int = 0,
        successesTotal: Int = 0, updatedAt: Date
    ) {
        self.name = name
        self.provider = provider
        self.state = state
        self.consecutiveFailures = consecutiveFailures
        self.openSeconds = openSeconds
        self.openedUntil = openedUntil
        self.probeUntil = probeUntil
        self.lastError = lastError
        self.lastFailureAt = lastFailureAt
        self.failuresTotal = failuresTotal
        self.successesTotal = successesTotal
        self.updatedAt = updatedAt
    }

    /// What a create may do with it at `now`.
    public func availability(at now: Date) -> CredentialAvailability {
        switch state {
        case .closed:
            return .usable
        case .open:
            guard let until = openedUntil, until > now else { return .probe }
            return .unavailable(until: until)
        case .halfOpen:
            guard let until = probeUntil, until > now else { return .probe }
            return .unavailable(until: until)
        }
    }

    /// After a failed create (or a failed probe).
    public func afterFailure(_ message: String, at now: Date, policy: BreakerPolicy = .standard) -> CredentialHealth {
        var next = self
        next.consecutiveFailures += 1
        next.failuresTotal += 1
        next.lastError = String(message.prefix(500))
        next.lastFailureAt = now
        next.updatedAt = now
        switch state {
        case .halfOpen:
            // The probe failed: open again, twice as long.
            next.open(seconds: min(policy.maxOpen, max(policy.baseOpen, Double(openSeconds) * 2)), at: now)
        case .open:
            // A create sent before the breaker opened failed while it is open: the open period stands;
            // one that failed after the period ran out reopens it, twice as long.
            if openedUntil.map({ $0 <= now }) ?? true {
                next.open(seconds: min(policy.maxOpen, max(policy.baseOpen, Double(openSeconds) * 2)), at: now)
            }
        case .closed:
            if next.consecutiveFailures >= policy.threshold { next.open(seconds: policy.baseOpen, at: now) }
        }
        return next
    }

    /// After a create that the provider answered: it closes the breaker.
    public func afterSuccess(at now: Date) -> CredentialHealth {
        var next = self
        next.state = .closed
        next.consecutiveFailures = 0
        next.openSeconds = 0
        next.openedUntil = nil
        next.probeUntil = nil
        next.successesTotal += 1
        next.updatedAt = now
        return next
    }

    /// The probe claimed: half-open until the probe's outcome, or `policy.probeTimeout`. Nil when
    /// there is no probe to claim (closed, still open, or another probe under way).
    public func claimingProbe(at now: Date, policy: BreakerPolicy = .standard) -> CredentialHealth? {
        guard availability(at: now) == .probe, state != .closed else { return nil }
        var next = self
        next.state = .halfOpen
        next.probeUntil = now.addingTimeInterval(policy.probeTimeout)
        next.updatedAt = now
        return next
    }

    private mutating func open(seconds: TimeInterval, at now: Date) {
        state = .open
        openSeconds = Int(seconds)
        openedUntil = now.addingTimeInterval(seconds)
        probeUntil = nil
    }
}
