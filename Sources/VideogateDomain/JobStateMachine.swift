import Foundation

/// Something that happened to a job, reported by a worker.
public enum JobEvent: Sendable, Equatable {
    /// The provider accepted the job under its own id, with the credential (and, for an alias,
    /// the member model) in `routing`.
    case providerAccepted(providerJobID: String, providerRequestID: String?, nextPollAt: Date, routing: JobRouting? = nil)
    /// The provider still works on it; poll again at `nextPollAt`.
    case stillRunning(progress: Int?, nextPollAt: Date)
    /// A transient failure (network, 429, 5xx): try the same step again later.
    case retryLater(at: Date)
    /// The result is in result storage.
    case succeeded(JobResult)
    /// The provider refused or failed the job.
    case failed(JobFailure)
    /// The job passed its deadline.
    case timedOut
    /// Its client cancelled it before any provider had it (see `JobStateMachine.cancel`).
    case cancelled
}

/// Where a job was handed upstream: the credential it is bound to from then on and, for an
/// alias, the member model with its provider and upstream model.
public struct JobRouting: Sendable, Equatable {
    public var credential: String
    /// The credential's entry as JSON (no secrets).
    public var credentialDefinition: String
    public var provider: ProviderKind
    public var upstreamModel: String
    /// The member model of an alias; nil for a job of a plain model.
    public var routedModel: String?

    public init(credential: String, credentialDefinition: String, provider: ProviderKind, upstreamModel: String, routedModel: String? = nil) {
        self.credential = credential
        self.credentialDefinition = credentialDefinition
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.routedModel = routedModel
    }
}

/// What the ledger must do in the same transaction as a job's transition.
public enum LedgerEffect: Sendable, Equatable {
    case none
    /// Charge the held credits.
    case capture(Int)
    /// Give the held credits back.
    case release(Int)
}

/// A decided transition: the job as it must be stored and the ledger effect to apply with it.
public struct JobTransition: Sendable, Equatable {
    public var job: Job
    public var ledger: LedgerEffect
}

/// Why an event cannot apply.
public enum JobTransitionRefusal: Error, Sendable, Equatable {
    /// The job is already completed or failed: nothing may change it again (no second charge).
    case alreadyFinal(JobStatus)
    /// The event does not fit the job's status.
    case invalid(String)
}

/// The job lifecycle as a pure function: pending → processing → completed | error, and
/// pending → error (a cancel among others). Final states never change, which is what makes a capture happen at most once.
public enum JobStateMachine {
    public static func apply(_ event: JobEvent, to job: Job, now: Date, videoTTL: TimeInterval) throws(JobTransitionRefusal) -> JobTransition {
        guard !job.status.isTerminal else { throw .alreadyFinal(job.status) }
        var next = job
        next.updatedAt = now
        switch event {
        case .providerAccepted(let providerJobID, let requestID, let nextPollAt, let routing):
            guard job.status == .pending else { throw .invalid("the provider already has this job") }
            if let routing {
                next.credential = routing.credential
                next.credentialDefinition = routing.credentialDefinition
                next.provider = routing.provider
                next.upstreamModel = routing.upstreamModel
                next.routedModel = routing.routedModel
            }
            next.status = .processing
            next.providerJobID = providerJobID
            next.providerRequestID = requestID
            next.submittedAt = now
            next.nextAttemptAt = nextPollAt
            return JobTransition(job: next, ledger: .none)
        case .stillRunning(let progress, let nextPollAt):
            guard job.status == .processing else { throw .invalid("a job must be with the provider to be running") }
            if let progress { next.progress = min(100, max(job.progress ?? 0, progress)) }
            next.nextAttemptAt = nextPollAt
            return JobTransition(job: next, ledger: .none)
        case .retryLater(let at):
            next.nextAttemptAt = at
            return JobTransition(job: next, ledger: .none)
        case .succeeded(let result):
            next.status = .completed
            next.progress = 100
            next.result = result
            next.completedAt = now
            next.expiresAt = now.addingTimeInterval(videoTTL)
            next.creditsUsed = job.creditsReserved
            return JobTransition(job: next, ledger: .capture(job.creditsReserved))
        case .failed(let failure):
            return finish(next, with: failure, now: now)
        case .timedOut:
            return finish(next, with: JobFailure(.timeout, "The job did not finish before its deadline."), now: now)
        case .cancelled:
            guard job.status == .pending else { throw .invalid("only a pending job can be cancelled") }
            return finish(next, with: JobFailure(.cancelled, "The job was cancelled by its client before it started."), now: now)
        }
    }

    private static func finish(_ job: Job, with failure: JobFailure, now: Date) -> JobTransition {
        var job = job
        job.status = .error
        job.failure = failure
        job.completedAt = now
        job.creditsUsed = 0
        return JobTransition(job: job, ledger: .release(job.creditsReserved))
    }
}
