import Foundation
import Synchronization
import VideogateDomain
import VideogateStorage

extension JobWorker {
    /// How a step under lease ended.
    enum StepEnd: Sendable {
        /// The step returned (stored its decision, or found it could store nothing).
        case finished
        /// Renewal stopped without anything to act on (the step is storing its decision).
        case renewalEnded
        /// The lease was lost (renewal answered false or failed) or lapsed by the local clock.
        case leaseLost
        /// The job's deadline passed while the step ran.
        case deadline
        /// Shutdown asked steps that are not creating a job upstream to stop.
        case stop
    }

    /// Runs one step of a claimed job while renewing its lease every third of its duration, and
    /// watches it: a lost or lapsed lease, the job's deadline or shutdown cancels the step. A step
    /// cut short by its deadline ends the job in `error` / `timeout`; otherwise its lease is given
    /// back so that the next claim redoes the step. A job already running here is handed back at once.
    func runWithLease(_ job: Job, claimedAt: ContinuousClock.Instant) async {
        guard let token = job.leaseToken else { return }
        let lease = LeaseGuard(
            jobID: job.id, token: token, duration: .milliseconds(Int(configuration.leaseDuration * 1000)), claimedAt: claimedAt)
        guard active.insert(job.id) else {
            // Our own earlier step of this job still runs (its lease lapsed and we claimed it again).
            logger.warning("job already has a step running here; claim handed back", metadata: ["job_id": .string(job.id)])
            await releaseBounded(lease)
            return
        }
        defer { active.remove(job.id) }
        let end = await withTaskGroup(of: StepEnd.self) { group -> StepEnd in
            group.addTask {
                await runner.step(job, lease: lease)
                return .finished
            }
            group.addTask { await renew(lease) }
            group.addTask { await watch(job, lease: lease) }
            var end = StepEnd.stop
            while let next = await group.next() {
                if case .renewalEnded = next { continue }
                end = next
                break
            }
            group.cancelAll()
            if case .deadline = end {
                // Recorded here, not after the group: a step that ignores cancellation must not
                // keep the hold past the deadline.
                logger.warning("step cut short at the job's deadline", metadata: ["job_id": .string(job.id)])
                await runner.recordTimeout(of: job, lease: lease)
            }
            return end
        }
        switch end {
        case .finished, .renewalEnded, .deadline:
            break
        case .leaseLost:
            logger.warning("step stopped: lease lost or lapsed", metadata: ["job_id": .string(job.id)])
            // Fenced by the token: frees the job only if no one else claimed it meanwhile.
            await releaseBounded(lease)
        case .stop:
            await releaseBounded(lease)
        }
    }

    /// Renews the lease every third of its duration; returns when renewal fails or is refused.
    private func renew(_ lease: LeaseGuard) async -> StepEnd {
        let interval = max(0.05, configuration.leaseDuration / 3)
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) } catch { return .renewalEnded }
            if lease.phase == .recording { return .renewalEnded }
            let sent = ContinuousClock.now
            let until = clock.now().addingTimeInterval(configuration.leaseDuration)
            do {
                if try await store.renewLease(jobID: lease.jobID, token: lease.token, until: until) {
                    lease.confirm(sentAt: sent)
                    continue
                }
                // Refused: usually the step has just stored its decision, which frees the lease.
                if lease.phase == .recording { return .renewalEnded }
            } catch {
                if Task.isCancelled { return .renewalEnded }
                logger.warning("lease renewal failed", metadata: ["job_id": .string(lease.jobID), "error": .string(String(reflecting: error))])
            }
            lease.markLost()
            // A create in flight finishes and its answer is stored under the token (the watcher
            // acts once it is stored); storing a decision is fenced anyway.
            return lease.phase == .working ? .leaseLost : .renewalEnded
        }
        return .renewalEnded
    }

    /// Checks, a few times a second, what must cut the step short: a lapsed lease (renewals that
    /// hang count too), the deadline, shutdown. Not while the step stores its decision, nor,
    /// except for the deadline, while it creates the job upstream.
    private func watch(_ job: Job, lease: LeaseGuard) async -> StepEnd {
        while true {
            do { try await Task.sleep(for: .milliseconds(100)) } catch { return .stop }
            let phase = lease.phase
            if phase == .recording { continue }
            if lease.isLost && phase != .creating { return .leaseLost }
            if clock.now() >= job.deadlineAt { return .deadline }
            if stopping.isSet && phase != .creating { return .stop }
        }
    }

    /// Gives a lease back, waiting at most a second: on an unreachable database the lease runs
    /// out by itself and the job is claimed again then.
    func releaseBounded(_ lease: LeaseGuard) async {
        let store = store
        let released = await waitAtMost(.seconds(1)) { try await store.releaseLease(jobID: lease.jobID, token: lease.token) }
        if !released { logger.warning("could not give the lease back; it runs out by itself", metadata: ["job_id": .string(lease.jobID)]) }
    }

    /// The shutdown drain: steps run on for half the grace, then those not creating a job upstream
    /// stop; creates finish and are stored until four fifths of it. Whatever runs then is cancelled.
    func drain(_ running: @Sendable () -> Int) async {
        let start = ContinuousClock.now
        await waitUntilIdle(running, until: start + shutdownGrace / 2)
        if running() > 0 {
            logger.info("stopping steps that are not creating a job upstream", metadata: ["running": .stringConvertible(running())])
        }
        stopping.set()
        await waitUntilIdle(running, until: start + shutdownGrace * 4 / 5)
        if running() > 0 { logger.warning("cancelling steps still running", metadata: ["running": .stringConvertible(running())]) }
    }

    private func waitUntilIdle(_ running: @Sendable () -> Int, until deadline: ContinuousClock.Instant) async {
        while running() > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Ids of the jobs with a step running in this process.
final class ActiveJobs: Sendable {
    private let ids = Mutex(Set<String>())
    /// False when the job already has a step running here.
    func insert(_ id: String) -> Bool { ids.withLock { $0.insert(id).inserted } }
    func remove(_ id: String) { _ = ids.withLock { $0.remove(id) } }
}

/// A flag set once, read by every running step.
final class StopFlag: Sendable {
    private let flag = Atomic(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}
