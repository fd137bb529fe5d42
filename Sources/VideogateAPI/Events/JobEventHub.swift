import ServiceLifecycle
import Synchronization
import VideogateStorage

/// The live status streams of this API process: which stream watches which job, how many each key
/// has open, and the change feed fanned out to them. One per process; runs as a service (the feed).
public final class JobEventHub: Service {
    /// Open streams one key may have in this process; the next gets 429 `too_many_streams`.
    public static let maxStreamsPerKey = 100

    private struct State {
        var next: UInt64 = 0
        /// Job id → the streams watching it.
        var byJob: [String: [UInt64: Wakeup]] = [:]
        /// Streams of pending jobs: they also wake (debounced) when any other job changes.
        var pending: [UInt64: Wakeup] = [:]
        var perKey: [String: Int] = [:]
    }

    let feed: any JobChangeFeed
    private let state = Mutex(State())

    public init(feed: any JobChangeFeed) {
        self.feed = feed
    }

    /// Runs the change feed until graceful shutdown (the streams themselves end when the server shuts down).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.feed.run { [self] change in self.publish(change) }
        }
    }

    /// Streams open in this process.
    public var openStreams: Int { state.withLock { $0.perKey.values.reduce(0, +) } }

    /// Wakes the streams a change concerns.
    func publish(_ change: JobChange) {
        let (own, others): ([Wakeup], [Wakeup]) = state.withLock { state in
            switch change {
            case .all:
                return (state.byJob.values.flatMap(\.values), [])
            case .job(let id):
                let own = state.byJob[id] ?? [:]
                return (Array(own.values), state.pending.filter { own[$0.key] == nil }.map(\.value))
            }
        }
        for wakeup in own { wakeup.signal(.own) }
        for wakeup in others { wakeup.signal(.queue) }
    }

    /// Registers a stream of `jobID` for `keyID`; nil when the key already has `maxStreamsPerKey` open.
    func watch(jobID: String, keyID: String) -> JobWatch? {
        let wakeup = Wakeup()
        let id = state.withLock { state -> UInt64? in
            guard state.perKey[keyID, default: 0] < Self.maxStreamsPerKey else { return nil }
            state.perKey[keyID, default: 0] += 1
            state.next += 1
            state.byJob[jobID, default: [:]][state.next] = wakeup
            return state.next
        }
        return id.map { JobWatch(hub: self, id: $0, jobID: jobID, keyID: keyID, wakeup: wakeup) }
    }

    fileprivate func setPending(_ pending: Bool, id: UInt64, wakeup: Wakeup) {
        state.withLock { state in state.pending[id] = pending ? wakeup : nil }
    }

    fileprivate func remove(id: UInt64, jobID: String, keyID: String) {
        state.withLock { state in
            state.byJob[jobID]?[id] = nil
            if state.byJob[jobID]?.isEmpty == true { state.byJob[jobID] = nil }
            state.pending[id] = nil
            state.perKey[keyID, default: 1] -= 1
            if state.perKey[keyID] == 0 { state.perKey[keyID] = nil }
        }
    }
}

/// One stream's registration: its wake-up signal and its slot in the key's count. Closed when the
/// stream ends, or when it is dropped unused (a HEAD request, a client gone before the body).
final class JobWatch: Sendable {
    private let hub: JobEventHub
    private let id: UInt64
    private let jobID: String
    private let keyID: String
    private let closed = Atomic(false)
    let wakeup: Wakeup

    fileprivate init(hub: JobEventHub, id: UInt64, jobID: String, keyID: String, wakeup: Wakeup) {
        self.hub = hub
        self.id = id
        self.jobID = jobID
        self.keyID = keyID
        self.wakeup = wakeup
    }

    /// Whether other jobs' changes wake the stream too (its job is pending: its queue position may move).
    func setPending(_ pending: Bool) {
        guard !closed.load(ordering: .acquiring) else { return }
        hub.setPending(pending, id: id, wakeup: wakeup)
    }

    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        hub.remove(id: id, jobID: jobID, keyID: keyID)
    }

    deinit { close() }
}
