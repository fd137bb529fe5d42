import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Tracing
import VideogateDomain
import VideogateProviders
import VideogateStorage

/// The queue consumer: claims due jobs under a lease, fairly across accounts (`ClaimRequest`), runs
/// up to `concurrency` live steps and, in their own lane, `sandboxConcurrency` sandbox jobs at once,
/// and renews the leases of running steps (`runWithLease`). On graceful shutdown it stops claiming,
/// lets running steps finish for half of `shutdownGrace`, then stops those not creating a job
/// upstream, lets creates finish and be stored until four fifths of it, then cancels the rest and
/// gives their leases back (each store call bounded), so another worker takes them up at once.
public struct JobWorker: Service {
    let runner: JobRunner
    let store: any GatewayStore
    let clock: any WallClock
    let configuration: WorkerConfiguration
    let logger: Logger
    let shutdownGrace: Duration
    /// Jobs with a step running in this process: never two steps of one job at once.
    let active = ActiveJobs()
    /// Set once running steps that are not creating should stop (shutdown).
    let stopping = StopFlag()

    public init(
        runner: JobRunner, store: any GatewayStore, clock: any WallClock, configuration: WorkerConfiguration, logger: Logger,
        shutdownGrace: Duration = .seconds(10)
    ) {
        self.runner = runner
        self.store = store
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.shutdownGrace = shutdownGrace
    }

    public func run() async throws {
        logger.info(
            "worker started",
            metadata: [
                "owner": .string(configuration.ownerID), "concurrency": .stringConvertible(configuration.concurrency),
                "sandbox_concurrency": .stringConvertible(configuration.sandboxConcurrency),
                "account_max_in_flight": .stringConvertible(configuration.accountMaxInFlight),
            ])
        let live = RunningCount()
        let sandbox = RunningCount()
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let now = clock.now()
                let request = ClaimRequest(
                    owner: configuration.ownerID, now: now, leaseUntil: now.addingTimeInterval(configuration.leaseDuration),
                    liveSlots: configuration.concurrency - live.value, sandboxSlots: configuration.sandboxConcurrency - sandbox.value,
                    accountMaxInFlight: configuration.accountMaxInFlight)
                var claimed: [Job] = []
                // A lease counts from when its claim was sent: a claim answered late (a stalled
                // database) has already used part of it.
                let claimSent = ContinuousClock.now
                let claimStarted = DefaultTracerClock.now
                if request.totalSlots > 0 {
                    do {
                        claimed = try await abandonedOnShutdown { try await store.claimJobs(request) } ?? []
                    } catch {
                        logger.error("claiming jobs failed", metadata: ["error": .string(String(reflecting: error))])
                    }
                }
                for job in claimed {
                    // The claim as a span of each claimed job's trace (one query claimed them all).
                    Traces.record(
                        "job claim", context: Traces.context(parent: job.traceParent), startedAt: claimStarted,
                        attributes: ["videogate.job_id": .string(job.id), "videogate.worker": .string(configuration.ownerID)])
                    // A sandbox job keeps its lane slot from its claim to its end, so it never waits
                    // half-started (processing, without a slot) behind other renders.
                    let lane = job.provider == .sandbox ? sandbox : live
                    lane.add(1)
                    group.addTask {
                        if job.provider == .sandbox {
                            await self.runToEnd(job, claimedAt: claimSent)
                        } else {
                            await self.runWithLease(job, claimedAt: claimSent)
                        }
                        lane.add(-1)
                    }
                }
                if claimed.count < request.totalSlots || request.totalSlots == 0 {
                    try? await Task.sleep(for: .milliseconds(Int(configuration.idleInterval * 1000)))
                }
            }
            logger.info("worker stopping: no new claims", metadata: ["running": .stringConvertible(live.value + sandbox.value)])
            await drain { live.value + sandbox.value }
            group.cancelAll()
        }
        logger.info("worker stopped")
    }
}

/// Steps running in this worker.
final class RunningCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add(_ delta: Int) { count.withLock { $0 += delta } }
}
