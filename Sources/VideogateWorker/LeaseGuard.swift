import Foundation
import Synchronization
import VideogateDomain

/// The claim one step runs under: the job's lease token, when the lease was last confirmed by
/// the database, and what the step is doing. The step asks it before every upstream call
/// (`check()`), so a step whose lease lapsed or whose renewal failed makes no further call; the
/// worker reads its phase to know what may be cut short (a provider create in flight is not).
public final class LeaseGuard: Sendable {
    /// What a step is doing, as far as stopping it is concerned.
    public enum Phase: Sendable, Equatable {
        /// Reading, polling, fetching, uploading: safe to cut short, the next claim redoes it.
        case working
        /// A provider create is in flight: cutting it short can make the next claim pay twice.
        case creating
        /// Storing the step's decision; the store call is fenced by the token.
        case recording
    }

    public let jobID: String
    /// The token written by the claim; fences renew, apply and release.
    public let token: String
    let duration: Duration
    private let state: Mutex<State>

    private struct State {
        var confirmedAt: ContinuousClock.Instant
        var lost = false
        var phase = Phase.working
    }

    /// A guard for a claim just made: the claim itself counts as the first confirmation.
    public init(jobID: String, token: String, duration: Duration, claimedAt: ContinuousClock.Instant = .now) {
        self.jobID = jobID
        self.token = token
        self.duration = duration
        self.state = Mutex(State(confirmedAt: claimedAt))
    }

    /// The phase the step is in.
    public var phase: Phase { state.withLock { $0.phase } }

    /// Records a successful renewal that was sent at `sentAt` (the lease counts from when the
    /// request left, not when the answer came).
    public func confirm(sentAt: ContinuousClock.Instant) {
        state.withLock { if sentAt > $0.confirmedAt { $0.confirmedAt = sentAt } }
    }

    /// Marks the lease lost (renewal answered false or failed).
    public func markLost() { state.withLock { $0.lost = true } }

    /// Whether the lease is lost or lapsed by the local clock (no confirmation for a lease duration).
    public var isLost: Bool {
        state.withLock { $0.lost || ContinuousClock.now - $0.confirmedAt >= duration }
    }

    /// Throws `LeaseLost` when the lease is lost or lapsed; called right before every upstream call.
    public func check() throws(LeaseLost) {
        if isLost { throw LeaseLost(jobID: jobID) }
    }

    /// Checks the lease, then enters `phase`.
    public func enter(_ phase: Phase) throws(LeaseLost) {
        try check()
        state.withLock { $0.phase = phase }
    }

    /// Enters `phase` without a check (leaving a create, starting to record).
    public func set(_ phase: Phase) { state.withLock { $0.phase = phase } }
}

/// A step stopped because the lease it ran under is gone: it made no further upstream call.
public struct LeaseLost: Error, Sendable, CustomStringConvertible {
    public let jobID: String
    public var description: String { "the lease on job \(jobID) was lost or lapsed" }
}
