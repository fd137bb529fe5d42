import Foundation
import Logging
import ServiceLifecycle
import VideogateDomain
import VideogateStorage

/// Deletes result files once their jobs' `expires_at` passed, and purges idempotency records and
/// quota counts that no longer matter. Safe to run in several processes: deletes are idempotent.
public struct ResultSweeper: Service {
    let store: any GatewayStore
    let blobs: any BlobStore
    let clock: any WallClock
    let interval: TimeInterval
    let logger: Logger

    public init(store: any GatewayStore, blobs: any BlobStore, clock: any WallClock, interval: TimeInterval, logger: Logger) {
        self.store = store
        self.blobs = blobs
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let deleted = try await sweepOnce()
                if deleted > 0 { logger.info("expired results deleted", metadata: ["count": .stringConvertible(deleted)]) }
            } catch {
                logger.error("sweep failed", metadata: ["error": .string(String(reflecting: error))])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
        }
    }

    /// One pass: returns how many jobs' results were deleted.
    public func sweepOnce() async throws -> Int {
        let now = clock.now()
        var deleted = 0
        while true {
            let jobs = try await store.expiredResults(now: now, limit: 100)
            if jobs.isEmpty { break }
            for job in jobs {
                if let result = job.result {
                    try await blobs.delete(key: result.videoKey)
                    if let thumbnail = result.thumbnailKey { try await blobs.delete(key: thumbnail) }
                }
                try await store.markResultDeleted(jobID: job.id)
                deleted += 1
            }
        }
        try await store.purge(now: now)
        return deleted
    }
}
