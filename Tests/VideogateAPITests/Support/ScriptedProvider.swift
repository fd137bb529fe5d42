import Foundation
import ProviderFakes
import Synchronization
import VideogateDomain
import VideogateProviders

/// An in-process provider that counts its calls, notes whether two ever overlapped for one job,
/// and can hang a call (ignoring cancellation, as a call stuck in a socket or a process does).
final class ScriptedProvider: VideoProvider {
    enum Call: Sendable, Hashable {
        case create, poll, fetch
    }

    struct State {
        var counts: [Call: Int] = [:]
        var inFlight: [String: Int] = [:]
        var overlapped = false
        /// Calls to hold, and for how long, once each in order.
        var hangs: [Call: [Duration]] = [:]
        /// When each call started, in order.
        var starts: [(call: Call, at: ContinuousClock.Instant)] = []
        /// When the last hung call of each kind returned.
        var hangEnded: [Call: ContinuousClock.Instant] = [:]
    }

    let kind = ProviderKind.sandbox
    let schedule = PollSchedule(firstPoll: 0, interval: 0.05, maxInterval: 0.05)
    let video: Data
    let state = Mutex(State())
    /// Called when a call starts (before any hang).
    let onCall: @Sendable (Call) -> Void

    init(onCall: @escaping @Sendable (Call) -> Void = { _ in }) throws {
        self.video = try FakeVideo.mp4()
        self.onCall = onCall
    }

    /// Holds the next call of `call` for `duration`.
    func hang(_ call: Call, for duration: Duration) { state.withLock { $0.hangs[call, default: []].append(duration) } }
    func count(_ call: Call) -> Int { state.withLock { $0.counts[call] ?? 0 } }
    var overlapped: Bool { state.withLock { $0.overlapped } }
    /// Calls of `call` that started within `window` after a hung call of `hung` returned.
    func calls(_ call: Call, within window: Duration, afterHung hung: Call) -> Int {
        state.withLock { state in
            guard let end = state.hangEnded[hung] else { return 0 }
            return state.starts.filter { $0.call == call && $0.at >= end && $0.at <= end + window }.count
        }
    }

    private func enter(_ call: Call, job: String) async {
        onCall(call)
        let hang = state.withLock { state -> Duration? in
            state.counts[call, default: 0] += 1
            state.starts.append((call, .now))
            state.inFlight[job, default: 0] += 1
            if state.inFlight[job]! > 1 { state.overlapped = true }
            guard var queue = state.hangs[call], !queue.isEmpty else { return nil }
            let first = queue.removeFirst()
            state.hangs[call] = queue
            return first
        }
        if let hang {
            await uncancellableSleep(hang)
            state.withLock { $0.hangEnded[call] = .now }
        }
    }

    private func leave(job: String) { state.withLock { $0.inFlight[job, default: 1] -= 1 } }

    func submit(_ request: ProviderRequest, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderSubmission {
        await enter(.create, job: request.jobID)
        defer { leave(job: request.jobID) }
        return ProviderSubmission(providerJobID: "up-\(request.jobID)")
    }

    func poll(_ handle: ProviderHandle, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderPoll {
        await enter(.poll, job: handle.request.jobID)
        defer { leave(job: handle.request.jobID) }
        return .succeeded(ProviderResult(videoURL: nil))
    }

    func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL, on credential: ProviderCredential) async throws(ProviderFailure) {
        await enter(.fetch, job: handle.request.jobID)
        defer { leave(job: handle.request.jobID) }
        do { try video.write(to: destination) } catch { throw .retryable("write failed: \(error)", retryAfter: nil) }
    }
}
