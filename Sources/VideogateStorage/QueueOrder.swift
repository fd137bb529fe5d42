import Foundation
import VideogateDomain

/// The order in which claims made at `takenAt` would hand the pending jobs to providers
/// (`GatewayStore.queueOrder`), lane by lane: what `queue_position` shows.
public struct QueueOrder: Sendable, Equatable {
    /// The instant the order was read at.
    public var takenAt: Date
    /// The place of every due pending job no live lease holds, counted from 0 within its lane.
    public var positions: [String: Int]
    /// How many such jobs the sandbox lane and the live lane have.
    public var sandboxCount: Int
    public var liveCount: Int

    public init(takenAt: Date, positions: [String: Int], sandboxCount: Int, liveCount: Int) {
        self.takenAt = takenAt
        self.positions = positions
        self.sandboxCount = sandboxCount
        self.liveCount = liveCount
    }

    /// A job's queue position; nil when it is not `pending`. A job under a live lease is being handed
    /// to its provider: 0. A job not in the order (waiting out a retry backoff, past its deadline, or
    /// submitted after `takenAt`) counts every job of its lane.
    public func position(of job: Job) -> Int? {
        guard job.status == .pending else { return nil }
        if let lease = job.leaseExpiresAt, lease > takenAt { return 0 }
        if let position = positions[job.id] { return position }
        return job.provider == .sandbox ? sandboxCount : liveCount
    }
}

extension QueueOrder {
    /// From the rows of the ordering query: id, sandbox lane or not, place in the lane.
    init(rows: [(id: String, sandbox: Bool, position: Int)], at: Date) {
        var positions: [String: Int] = [:]
        positions.reserveCapacity(rows.count)
        var sandbox = 0
        for row in rows {
            positions[row.id] = row.position
            if row.sandbox { sandbox += 1 }
        }
        self.init(takenAt: at, positions: positions, sandboxCount: sandbox, liveCount: rows.count - sandbox)
    }
}
