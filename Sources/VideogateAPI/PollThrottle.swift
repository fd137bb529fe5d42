import Foundation
import Synchronization

/// Per-job poll throttle: a token bucket per job id (one token per `interval`, up to `burst`).
/// In memory per API process; entries of jobs not polled for a while are dropped. Callers admit
/// only ids of jobs the caller can see (looked up first), so unknown ids never create entries.
final class PollThrottle: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let interval: Double
    private let burst: Double
    private let state = Mutex<(buckets: [String: Bucket], lastSweep: Double)>(([:], 0))

    init(interval: TimeInterval, burst: Int) {
        self.interval = interval
        self.burst = Double(max(1, burst))
    }

    /// How many jobs have a bucket now (for tests of the memory bound).
    var count: Int { state.withLock { $0.buckets.count } }

    /// Nil when the poll may go ahead, else the whole seconds to wait.
    func admit(jobID: String, now: Date) -> Int? {
        guard interval > 0 else { return nil }
        let time = now.timeIntervalSince1970
        return state.withLock { state in
            if time - state.lastSweep > 60 {
                // Buckets that refilled completely carry no information: drop them to bound memory.
                state.buckets = state.buckets.filter { time - $0.value.updated < interval * burst }
                state.lastSweep = time
            }
            var bucket = state.buckets[jobID] ?? Bucket(tokens: burst, updated: time)
            bucket.tokens = min(burst, bucket.tokens + (time - bucket.updated) / interval)
            bucket.updated = time
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                state.buckets[jobID] = bucket
                return nil
            }
            state.buckets[jobID] = bucket
            return max(1, Int(((1 - bucket.tokens) * interval).rounded(.up)))
        }
    }
}
