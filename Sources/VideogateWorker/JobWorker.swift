import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VideogateDomain
import VideogateStorage

/// The queue consumer: claims due jobs under a lease, fairly across accounts (`ClaimRequest`), runs
/// up to `concurrency` live steps and, in their own lane, `sandboxConcurrency` sandbox jobs at once,
/// and renews the leases of running steps. On graceful shutdown it stops claiming, lets running
/// steps finish for up to `shutdownGrace`, then cancels the rest and gives their leases back, so
/// another worker takes them up at once.
public struct JobWorker: Service {
    let runner: JobRunner
    let store: any GatewayStore
    let clock: any WallClock
    let configuration: WorkerConfiguration
    let logger: Logger
    let shutdownGrace: Duration

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
                if request.totalSlots > 0 {
                    do {
                        claimed = try await store.claimJobs(request)
                    } catch {
                        logger.error("claiming jobs failed", metadata: ["error": .string(String(reflecting: error))])
                    }
                }
                for job in claimed {
                    // A sandbox job keeps its lane slot from its claim to its end, so it never waits
                    // half-started (processing, without a slot) behind other renders.
                    let lane = job.provider == .sandbox ? sandbox : live
                    lane.add(1)
                    group.addTask {
                        if job.provider == .sandbox { await self.runToEnd(job) } else { await self.runWithLease(job) }
                        lane.add(-1)
                    }
                }
                if claimed.count < request.totalSlots || request.totalSlots == 0 {
                    try? await Task.sleep(for: .milliseconds(Int(configuration.idleInterval * 1000)))
                }
            }
            logger.info("worker stopping: no new claims", metadata: ["running": .stringConvertible(live.value + sandbox.value)])
            let deadline = ContinuousClock.now + shutdownGrace
            while live.value + sandbox.value > 0 && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            group.cancelAll()
        }
        logger.info("worker stopped")
    }

    /// Runs one step while renewing its lease every third of its duration; a lost lease or
    /// cancellation ends the step, and a cancelled step's lease is given back.
    func runWithLease(_ job: Job) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await runner.step(job) }
            group.addTask {
                let interval = max(0.05, configuration.leaseDuration / 3)
                while !Task.isCancelled {
                    do { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) } catch { return }
                    let until = clock.now().addingTimeInterval(configuration.leaseDuration)
                    if (try? await store.renewLease(jobID: job.id, owner: configuration.ownerID, until: until)) == false {
                        // Usually the step has just stored its result and given the lease back. A lease
                        // really lost to another worker is reported by the step itself, whose fenced
                        // store call then changes nothing.
                        logger.debug("lease renewal found the lease gone", metadata: ["job_id": .string(job.id)])
                        return
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
        if Task.isCancelled {
            // A cancelled step hands its job back at once instead of holding it until the lease runs out.
            try? await store.releaseLease(jobID: job.id, owner: configuration.ownerID)
        }
    }
}

/// Steps running in this worker.
final class RunningCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add(_ delta: Int) { count.withLock { $0 += delta } }
}
