import Foundation
import ServiceLifecycle
import VideogateDomain
import VideogateStorage

/// The sandbox lane: a test-key job keeps one of this worker's `sandboxConcurrency` slots from its
/// claim to its end.
///
/// The lane is held by the process, not counted in the database: the render is local CPU work, so
/// the bound is per process, and a slot must not outlive the process that holds it. Each step is
/// stored as usual (polls see `processing` and its progress); right after it the worker takes the
/// lease back and keeps renewing it until the next step is due, so no other worker picks the job up
/// between steps and it never waits for a slot once it left `pending`. Test jobs beyond the lane
/// stay `pending` in the queue. A job whose submission or render failed and is retried later goes
/// back to the queue for its retry instead of holding a slot through the back-off; so does every
/// job at graceful shutdown, at the lease given back.
extension JobWorker {
    /// Runs a claimed sandbox job step after step until it is finished, lost, retried later, or the
    /// worker shuts down.
    func runToEnd(_ claimed: Job, claimedAt: ContinuousClock.Instant) async {
        var job = claimed
        var leaseSent = claimedAt
        while true {
            let started = clock.now()
            await runWithLease(job, claimedAt: leaseSent)
            if Task.isCancelled || Task.isShuttingDownGracefully || isRenderAttempt(job, startedAt: started) { return }
            let now = clock.now()
            leaseSent = ContinuousClock.now
            let resumed: Job?
            do {
                resumed = try await store.resumeLease(
                    jobID: job.id, owner: configuration.ownerID, now: now, leaseUntil: now.addingTimeInterval(configuration.leaseDuration))
            } catch {
                // Nothing is lost: the job is due again for any worker's lane.
                logger.warning(
                    "sandbox job handed back to the queue", metadata: ["job_id": .string(job.id), "error": .string(String(reflecting: error))])
                return
            }
            // Nil: finished, or another worker's lane took it up meanwhile.
            guard let next = resumed else { return }
            guard next.status == .processing, await holdLease(of: next, until: min(next.nextAttemptAt, next.deadlineAt)) else {
                if let token = next.leaseToken { _ = await waitAtMost(.seconds(1)) { [store] in try await store.releaseLease(jobID: next.id, token: token) } }
                return
            }
            job = next
        }
    }

    /// Whether this step polled a job whose render time had come, so that it rendered (or failed
    /// to): after it the job is finished, or waits for a retry through the queue.
    private func isRenderAttempt(_ job: Job, startedAt: Date) -> Bool {
        guard job.status == .processing else { return false }
        let firstPoll = runner.providers[job.provider]?.schedule.firstPoll ?? 0
        return startedAt >= (job.submittedAt ?? job.createdAt).addingTimeInterval(firstPoll)
    }

    /// Waits until `due` while renewing the lease every third of its duration. False when the lease
    /// was lost or could not be renewed, or the worker is stopping.
    private func holdLease(of job: Job, until due: Date) async -> Bool {
        guard let token = job.leaseToken else { return false }
        var renewAt = clock.now().addingTimeInterval(configuration.leaseDuration / 3)
        while true {
            let now = clock.now()
            if now >= due { return true }
            if Task.isShuttingDownGracefully { return false }
            if now >= renewAt {
                let until = now.addingTimeInterval(configuration.leaseDuration)
                guard (try? await store.renewLease(jobID: job.id, token: token, until: until)) == true else { return false }
                renewAt = now.addingTimeInterval(configuration.leaseDuration / 3)
            }
            // Short naps, so that a graceful shutdown is noticed at once.
            let nap = max(0.01, min(due.timeIntervalSince(now), renewAt.timeIntervalSince(now), 0.25))
            do { try await Task.sleep(for: .milliseconds(Int(nap * 1000))) } catch { return false }
        }
    }
}
