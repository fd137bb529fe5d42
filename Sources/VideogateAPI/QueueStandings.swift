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
    /// How long the model run times read from the store are reused before they are read again.
    public var timingsTTL: TimeInterval

    public init(accountMaxInFlight: Int = 0, estimator: CompletionEstimator = CompletionEstimator(), timingsTTL: TimeInterval = 5) {
        self.accountMaxInFlight = max(0, accountMaxInFlight)
        self.estimator = estimator
        self.timingsTTL = max(0, timingsTTL)
    }
}

/// Where unfinished jobs stand, for every view of a job (polls, lists, events, `/v1/videos`): one
/// position query for all the pending jobs of a view, and the model run times from a copy this
/// process refreshes at most every `timingsTTL` seconds. Finished jobs cost nothing.
final class QueueStandings: Sendable {
    let settings: QueueStandingSettings
    private let timings = Mutex<(readAt: Date, byModel: [ModelTimingKey: ModelTiming])?>(nil)

    init(settings: QueueStandingSettings) {
        self.settings = settings
    }

    /// The standing of each unfinished job of `jobs`, by job id.
    func standings(of jobs: [Job], store: any GatewayStore, now: Date) async throws -> [String: QueueStanding] {
        let unfinished = jobs.filter { !$0.status.isTerminal }
        guard !unfinished.isEmpty else { return [:] }
        let pending = unfinished.filter { $0.status == .pending }.map(\.id)
        let positions =
            pending.isEmpty
            ? [:] : try await store.queuePositions(jobIDs: pending, now: now, accountMaxInFlight: settings.accountMaxInFlight)
        let byModel = try await modelTimings(store: store, now: now)
        var result: [String: QueueStanding] = [:]
        for job in unfinished {
            // A job read as pending that was no longer pending when the positions were read has just
            // been handed over (or ended): it shows as it was read, next in line.
            let position = job.status == .pending ? positions[job.id] ?? 0 : nil
            result[job.id] = settings.estimator.standing(of: job, position: position, timings: byModel, now: now)
        }
        return result
    }

    private func modelTimings(store: any GatewayStore, now: Date) async throws -> [ModelTimingKey: ModelTiming] {
        let ttl = settings.timingsTTL
        if let cached = timings.withLock({ $0 }), now.timeIntervalSince(cached.readAt) < ttl, cached.readAt <= now {
            return cached.byModel
        }
        let fresh = try await store.modelTimings()
        let byModel = Dictionary(fresh.map { (ModelTimingKey(provider: $0.provider, modelID: $0.modelID), $0) }) { first, _ in first }
        timings.withLock { $0 = (now, byModel) }
        return byModel
    }
}
