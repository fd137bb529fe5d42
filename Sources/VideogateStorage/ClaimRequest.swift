import Foundation

/// What one claim of due jobs may take: a number of jobs per lane, and at most
/// `accountMaxInFlight` jobs of one account in flight.
///
/// Due jobs are taken round-robin across accounts, weighted by what each account already has in
/// flight: each account's due jobs are ranked (its jobs already with the provider, `processing`,
/// first, then by due time), a job's turn is its rank plus its account's jobs in flight, and the
/// claim takes lower turns first, earlier due times first within a turn. So an account with nothing
/// running goes before one that has work under way, and of equally busy accounts each gets its
/// first job before any gets its second. Live jobs and sandbox jobs (`ProviderKind.sandbox`, the renders of test keys) are two
/// lanes with their own number of free slots, so neither kind takes the other's slots.
///
/// A job is in flight while it is `processing`, or `pending` under a live lease (being handed to
/// its provider). The cap counts them in the database, so it holds across worker processes; it
/// applies to `pending` jobs only: a `processing` job due for a poll is already counted, and a job
/// past its deadline is claimed to end it.
public struct ClaimRequest: Sendable, Equatable {
    /// The name written on the leases taken.
    public var owner: String
    /// The time jobs must be due by.
    public var now: Date
    /// When the leases taken run out unless renewed.
    public var leaseUntil: Date
    /// Free slots for live jobs (not `sandbox`).
    public var liveSlots: Int
    /// Free slots for sandbox jobs.
    public var sandboxSlots: Int
    /// Jobs taken at most in all, whatever their lane.
    public var totalSlots: Int
    /// The most jobs of one account in flight at once, claims included; 0 means no cap.
    public var accountMaxInFlight: Int

    /// A claim with a slot count per lane; `totalSlots` is their sum.
    public init(owner: String, now: Date, leaseUntil: Date, liveSlots: Int, sandboxSlots: Int, accountMaxInFlight: Int = 0) {
        self.owner = owner
        self.now = now
        self.leaseUntil = leaseUntil
        self.liveSlots = max(0, liveSlots)
        self.sandboxSlots = max(0, sandboxSlots)
        self.totalSlots = self.liveSlots + self.sandboxSlots
        self.accountMaxInFlight = max(0, accountMaxInFlight)
    }

    /// A claim of up to `limit` jobs of either lane, with no account cap.
    public init(owner: String, limit: Int, now: Date, leaseUntil: Date) {
        self.init(owner: owner, now: now, leaseUntil: leaseUntil, liveSlots: limit, sandboxSlots: limit)
        self.totalSlots = max(0, limit)
    }
}
