import Foundation

/// What a client's cancel does to a job, decided on the job as the store holds it (locked, in the
/// transaction that stores the decision).
public enum CancelDecision: Sendable, Equatable {
    /// The job ends now: the transition to store (`error` / `cancelled`, hold released).
    case cancel(JobTransition)
    /// The job was cancelled before: nothing changes, the answer is the same as then.
    case alreadyCancelled
    /// A worker holds the job under a live lease (it may be handing it to its provider right now),
    /// a provider has it, or it ended otherwise: nothing changes.
    case notCancellable
}

extension JobStateMachine {
    /// Decides a cancel at `now`. Only a `pending` job that no worker holds under a live lease is
    /// cancellable: a worker calls its provider only while its lease is live (it checks the lease
    /// right before the call), so a job without one is with no provider and never will be once it
    /// is final, since claims take only unfinished jobs and a worker's later store is fenced by its
    /// lease token.
    public static func cancel(_ job: Job, now: Date) -> CancelDecision {
        if job.status == .error && job.failure?.code == .cancelled { return .alreadyCancelled }
        guard job.status == .pending, !isLeased(job, at: now) else { return .notCancellable }
        do {
            return .cancel(try apply(.cancelled, to: job, now: now, videoTTL: 0))
        } catch {
            return .notCancellable
        }
    }

    /// Whether a worker holds the job under a lease that has not run out at `now`.
    public static func isLeased(_ job: Job, at now: Date) -> Bool {
        guard let expires = job.leaseExpiresAt else { return false }
        return expires > now
    }
}
