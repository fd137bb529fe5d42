import Foundation
import Logging
import Metrics
import ServiceLifecycle
import VideogateDomain
import VideogateStorage

/// Deletes result files once their jobs' `expires_at` passed, and purges what the retention no
/// longer keeps (idempotency records, quota counts, finished webhook deliveries and attempts). Safe
/// to run in several processes: deletes are idempotent.
///
/// Housekeeping cannot jam: a result whose delete fails is logged, counted in
/// `videogate_sweeper_failures_total` and retried later with an exponential backoff of its own,
/// while the other results are deleted and the purge runs as usual.
public struct ResultSweeper: Service {
    /// How often the sweeper runs, how long it keeps records, and how it retries failed deletes.
    public struct Configuration: Sendable {
        /// Seconds between passes.
        public var interval: TimeInterval
        public var retention: Retention
        /// Delay before the first retry of a failed result delete; each further failure doubles it.
        public var retryBase: TimeInterval
        /// The longest delay between retries of one result.
        public var retryCap: TimeInterval

        public init(interval: TimeInterval = 60, retention: Retention = Retention(), retryBase: TimeInterval = 300, retryCap: TimeInterval = 86_400) {
            self.interval = interval
            self.retention = retention
            self.retryBase = retryBase
            self.retryCap = retryCap
        }

        /// When a result whose delete failed `failures` times is tried again, counted from `now`.
        public func retryAt(failures: Int, now: Date) -> Date {
            let exponent = Double(min(max(failures - 1, 0), 30))
            return now.addingTimeInterval(min(retryBase * pow(2, exponent), retryCap))
        }
    }

    /// What one pass did.
    public struct Report: Sendable, Equatable {
        /// Jobs whose result files were deleted.
        public var deleted = 0
        /// Jobs whose result delete failed and was deferred.
        public var failed = 0
        /// What the purge removed; nil when it failed.
        public var purged: PurgeReport?
    }

    let store: any GatewayStore
    let blobs: any BlobStore
    let clock: any WallClock
    let configuration: Configuration
    let failures: Counter
    let logger: Logger

    public init(
        store: any GatewayStore, blobs: any BlobStore, clock: any WallClock, configuration: Configuration, metrics: any MetricsFactory,
        logger: Logger
    ) {
        self.store = store
        self.blobs = blobs
        self.clock = clock
        self.configuration = configuration
        self.failures = Counter(label: "videogate_sweeper_failures_total", factory: metrics)
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let report = await sweepOnce()
            if report.deleted > 0 || report.failed > 0 || (report.purged?.total ?? 0) > 0 {
                logger.info(
                    "housekeeping pass",
                    metadata: [
                        "deleted": .stringConvertible(report.deleted), "failed": .stringConvertible(report.failed),
                        "purged": .stringConvertible(report.purged?.total ?? 0),
                    ])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(configuration.interval * 1000))) }
        }
    }

    /// One pass: deletes every expired result that is due (a failure defers that one job only),
    /// then purges, even when deletes failed. Never throws: failures are logged and counted.
    public func sweepOnce() async -> Report {
        let now = clock.now()
        var report = Report()
        // A job is handled once per pass, even when recording its outcome failed and it comes back.
        var seen = Set<String>()
        do {
            while !Task.isCancelled {
                let fresh = try await store.expiredResults(now: now, limit: 100).filter { !seen.contains($0.id) }
                if fresh.isEmpty { break }
                for job in fresh {
                    seen.insert(job.id)
                    if await deleteResult(of: job, now: now) { report.deleted += 1 } else { report.failed += 1 }
                }
            }
        } catch {
            fail("listing expired results failed", error)
        }
        do {
            report.purged = try await store.purge(now: now, retention: configuration.retention)
        } catch {
            fail("purge failed", error)
        }
        return report
    }

    /// Deletes a job's files and records it; on a failure, defers the job with its backoff.
    private func deleteResult(of job: Job, now: Date) async -> Bool {
        do {
            if let result = job.result {
                try await blobs.delete(key: result.videoKey)
                if let thumbnail = result.thumbnailKey { try await blobs.delete(key: thumbnail) }
            }
            try await store.markResultDeleted(jobID: job.id)
            return true
        } catch {
            let configuration = self.configuration
            do {
                let count = try await store.deferResultDeletion(jobID: job.id) { configuration.retryAt(failures: $0, now: now) }
                fail("deleting an expired result failed", error, ["job_id": .string(job.id), "failures": .stringConvertible(count)])
            } catch let recordError {
                fail("deleting an expired result failed", error, ["job_id": .string(job.id), "record_error": .string(String(reflecting: recordError))])
            }
            return false
        }
    }

    private func fail(_ message: Logger.Message, _ error: any Error, _ metadata: Logger.Metadata = [:]) {
        failures.increment()
        var metadata = metadata
        metadata["error"] = .string(String(reflecting: error))
        logger.error(message, metadata: metadata)
    }
}
