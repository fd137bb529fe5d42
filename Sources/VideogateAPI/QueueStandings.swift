import Foundation
import Synchronization
import VideogateDomain
import VideogateStorage

/// Settings of `queue_position` and `estimated_completion_at`.
public struct QueueStandingSettings: Sendable {
    /// The account cap the workers claim under (`VIDEOGATE_ACCOUNT_MAX_IN_FLIGHT`), so that positions
    /// follow the same order.
    public var accountMaxInFlight: Int
    /// Lane sizes and default run times of the estimate.
    public var estimator: CompletionEstimator
    /// How long one reading of the queue order serves every view of this process (longer when the
    /// reading itself is slow: see `QueueOrderCache`).
    public var orderTTL: TimeInterval
    /// How long the model run times read from the store are reused before they are read again.
    public var timingsTTL: TimeInterval

    public init(
        accountMaxInFlight: Int = 0, estimator: CompletionEstimator = CompletionEstimator(), orderTTL: TimeInterval = 1,
        timingsTTL: TimeInterval = 5
    ) {
        self.accountMaxInFlight = max(0, accountMaxInFlight)
        self.estimator = estimator
        self.orderTTL = max(0, orderTTL)
        self.timingsTTL = max(0, timingsTTL)
    }
}

/// Where unfinished jobs stand, for every view of a job (polls, lists, events, `/v1/videos`).
/// Positions come from one reading of the whole queue order, shared by every request of this
/// process for `orderTTL` seconds (read again sooner for a job changed since), so that the cost of
/// positions grows with the queue, not with the queue times its polls. Model run times come from
/// a copy refreshed at most every `timingsTTL` seconds. Finished jobs cost nothing.
final class QueueStandings: Sendable {
    let settings: QueueStandingSettings
    private let orders = QueueOrderCache()
    private let timings = Mutex<(readAt: Date, byModel: [ModelTimingKey: ModelTiming])?>(nil)

    init(settings: QueueStandingSettings) {
        self.settings = settings
    }

    /// The standing of each unfinished job of `jobs`, by job id.
    func standings(of jobs: [Job], store: any GatewayStore, now: Date) async throws -> [String: QueueStanding] {
        let unfinished = jobs.filter { !$0.status.isTerminal }
        guard !unfinished.isEmpty else { return [:] }
        var order: QueueOrder?
        if let newest = unfinished.filter({ $0.status == .pending }).map(\.updatedAt).max() {
            // Capped at now: a job stamped ahead of this process's clock (another machine's) must not
            // make every view read the order again.
            let accountMaxInFlight = settings.accountMaxInFlight
            order = try await orders.order(ttl: settings.orderTTL, notBefore: min(newest, now)) {
                try await store.queueOrder(now: now, accountMaxInFlight: accountMaxInFlight)
            }
        }
        let byModel = try await modelTimings(store: store, now: now)
        var result: [String: QueueStanding] = [:]
        for job in unfinished {
            result[job.id] = settings.estimator.standing(of: job, position: order?.position(of: job), timings: byModel, now: now)
        }
        return result
    }

    private func modelTimings(store: any GatewayStore, now: Date) async throws -> [ModelTimingKey: ModelTiming] {
        if let cached = timings.withLock({ $0 }), cached.readAt <= now, now.timeIntervalSince(cached.readAt) < settings.timingsTTL {
            return cached.byModel
        }
        let fresh = try await store.modelTimings()
        let byModel = Dictionary(fresh.map { (ModelTimingKey(provider: $0.provider, modelID: $0.modelID), $0) }) { first, _ in first }
        timings.withLock { $0 = (now, byModel) }
        return byModel
    }
}

/// The last queue order this process read, and the reading under way: requests that need a newer
/// order than the last one wait for the same reading instead of each starting their own.
///
/// An order serves for `ttl` after its reading finished, or four times as long as the reading took
/// when that is longer: a long queue whose reading is slow is read at most a fifth of the time.
/// Past that, a request whose job has not changed since the order was read is answered from it at
/// once while one reading runs behind (positions are estimates; waiting made every poll of a
/// pending job wait for the reading once a second: p99 0.7 s with 130,000 jobs pending). Only a
/// request whose job changed after the order was read waits for a newer one.
actor QueueOrderCache {
    private var current: (order: QueueOrder, fresh: ContinuousClock.Instant)?
    /// A reading under way: its task, when it started, and how long its order stays fresh at least.
    private struct Reading {
        let task: Task<QueueOrder, any Error>
        let started: ContinuousClock.Instant
        let ttl: TimeInterval
    }
    private var reading: Reading?

    /// An order read at `notBefore` (the last change of the jobs to show) or later: the last one,
    /// even past its freshness (then a new reading starts behind), or a new one.
    func order(ttl: TimeInterval, notBefore: Date, read: @escaping @Sendable () async throws -> QueueOrder) async throws -> QueueOrder {
        if let current, current.order.takenAt >= notBefore {
            if ContinuousClock.now >= current.fresh, reading == nil { _ = startReading(ttl: ttl, read: read) }
            return current.order
        }
        if let reading, let order = try? await reading.task.value {
            keep(order, from: reading)
            if order.takenAt >= notBefore { return order }
        }
        let started = startReading(ttl: ttl, read: read)
        let order = try await started.task.value
        keep(order, from: started)
        return order
    }

    /// Starts a reading (a task, not a child: every request waiting for it shares it, and one
    /// request going away does not cancel it for the others). Whoever sees it end first keeps its
    /// order: a request waiting for it, or the watcher started here.
    private func startReading(
        ttl: TimeInterval, read: @escaping @Sendable () async throws -> QueueOrder
    ) -> Reading {
        let started = Reading(task: Task { try await read() }, started: ContinuousClock.now, ttl: ttl)
        reading = started
        Task {
            let order = try? await started.task.value
            self.finished(order, from: started)
        }
        return started
    }

    private func finished(_ order: QueueOrder?, from source: Reading) {
        if let order { keep(order, from: source) } else if reading?.task == source.task { reading = nil }
    }

    /// Makes `order` the current one when it is newer, fresh for `ttl` or four times its reading's length.
    private func keep(_ order: QueueOrder, from source: Reading) {
        if reading?.task == source.task { reading = nil }
        guard current.map({ $0.order.takenAt < order.takenAt }) ?? true else { return }
        let now = ContinuousClock.now
        current = (order, now + max(.milliseconds(Int64(source.ttl * 1000)), (now - source.started) * 4))
    }
}
