import Foundation

/// The recent run time of one model on one provider (`sandbox` for the renders of test keys): an
/// exponentially weighted mean of the time from hand-over to completion of its completed jobs.
public struct ModelTiming: Sendable, Equatable {
    public var provider: ProviderKind
    public var modelID: String
    /// The weighted mean run time.
    public var runTime: TimeInterval
    /// How many completions the mean has seen.
    public var samples: Int

    public init(provider: ProviderKind, modelID: String, runTime: TimeInterval, samples: Int) {
        self.provider = provider
        self.modelID = modelID
        self.runTime = runTime
        self.samples = samples
    }

    /// The weight of each new completion in the mean (the older mean keeps the rest).
    public static let weight = 0.2

    /// The mean after one more completion that ran `sample` seconds.
    public func adding(_ sample: TimeInterval) -> ModelTiming {
        var next = self
        next.runTime = runTime + (sample - runTime) * Self.weight
        next.samples = samples + 1
        return next
    }
}

/// Where an unfinished job stands: what `queue_position` and `estimated_completion_at` show.
public struct QueueStanding: Sendable, Equatable {
    /// Pending jobs of the same lane handed to a provider before this one; nil when it is not pending.
    public var position: Int?
    public var estimatedCompletion: Date

    public init(position: Int?, estimatedCompletion: Date) {
        self.position = position
        self.estimatedCompletion = estimatedCompletion
    }
}

/// Estimates when an unfinished job completes, from its model's recent run time and its queue position.
///
/// A `processing` job completes one mean run time after it was handed to its provider. A `pending`
/// job at position `p` in a lane of `S` slots waits while the `p` jobs before it run `S` at a time,
/// each taking about this model's mean run time, then runs itself: `now + run × (1 + p / S)`. An
/// estimate is never earlier than `now`. Before a model has a completion, its run time is the
/// default of its provider.
public struct CompletionEstimator: Sendable {
    /// Live jobs one worker process runs at once (`VIDEOGATE_WORKER_CONCURRENCY`).
    public var liveSlots: Int
    /// Sandbox jobs one worker process renders at once (`VIDEOGATE_SANDBOX_CONCURRENCY`).
    public var sandboxSlots: Int
    /// The run time assumed for a sandbox model without completions: the configured delay plus the render.
    public var sandboxDefault: TimeInterval
    /// The run time assumed for a live model without completions.
    public var liveDefault: TimeInterval

    /// Typical live renders take 30 s to several minutes (providers' documentation).
    public static let defaultLiveRunTime: TimeInterval = 120
    /// What a sandbox render takes on top of its configured delay.
    public static let sandboxRenderAllowance: TimeInterval = 2

    public init(liveSlots: Int = 8, sandboxSlots: Int = 4, sandboxDelay: TimeInterval = 3, liveDefault: TimeInterval = Self.defaultLiveRunTime) {
        self.liveSlots = max(1, liveSlots)
        self.sandboxSlots = max(1, sandboxSlots)
        self.sandboxDefault = max(0, sandboxDelay) + Self.sandboxRenderAllowance
        self.liveDefault = liveDefault
    }

    /// The run time of a job's model: its measured mean, or its provider's default.
    public func runTime(of job: Job, timings: [ModelTimingKey: ModelTiming]) -> TimeInterval {
        if let timing = timings[ModelTimingKey(provider: job.provider, modelID: job.modelID)], timing.samples > 0 {
            return timing.runTime
        }
        return job.provider == .sandbox ? sandboxDefault : liveDefault
    }

    /// The standing of an unfinished job (nil for a finished one). `position` is the job's queue
    /// position when it is pending.
    public func standing(of job: Job, position: Int?, timings: [ModelTimingKey: ModelTiming], now: Date) -> QueueStanding? {
        let run = runTime(of: job, timings: timings)
        switch job.status {
        case .completed, .error:
            return nil
        case .processing:
            let end = (job.submittedAt ?? job.updatedAt).addingTimeInterval(run)
            return QueueStanding(position: nil, estimatedCompletion: max(now, end))
        case .pending:
            let ahead = max(0, position ?? 0)
            let slots = job.provider == .sandbox ? sandboxSlots : liveSlots
            let wait = run * Double(ahead) / Double(slots)
            return QueueStanding(position: ahead, estimatedCompletion: now.addingTimeInterval(wait + run))
        }
    }
}

/// The key of a model's timing: the provider it runs on (`sandbox` for test keys) and its id.
public struct ModelTimingKey: Hashable, Sendable {
    public var provider: ProviderKind
    public var modelID: String
    public init(provider: ProviderKind, modelID: String) {
        self.provider = provider
        self.modelID = modelID
    }
}
