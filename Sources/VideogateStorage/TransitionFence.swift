import Foundation

/// What must still hold for a transition to be stored (`storeTransition` of each store): the one
/// condition under which a job's row may change, whoever asks.
enum TransitionFence: Sendable {
    /// A worker's step: the claim that wrote this lease token still holds the job.
    case claim(token: String)
    /// A client's cancel: the job is still `pending` and no lease is live at this time.
    case unleased(at: Date)

    /// The lease token a claim fence compares (nil for `unleased`).
    var token: String? {
        if case .claim(let token) = self { token } else { nil }
    }

    /// The time an unleased fence compares lease expiries with (nil for `claim`).
    var unleasedAt: Int64? {
        if case .unleased(let at) = self { StoreCoding.millis(at) } else { nil }
    }
}
