import Synchronization

/// Why a live status stream woke up.
struct WakeReasons: OptionSet, Sendable {
    let rawValue: Int
    /// The stream's own job changed, or every job may have (the change feed reconnected).
    static let own = WakeReasons(rawValue: 1)
    /// Another job changed: a pending job's queue position may have moved.
    static let queue = WakeReasons(rawValue: 2)
    /// The server is shutting down.
    static let shutdown = WakeReasons(rawValue: 4)
}

/// A signal one stream waits on and the change feed sets from any thread. Signals that arrive while
/// no one waits are kept (merged) for the next wait, so none is lost.
final class Wakeup: Sendable {
    private struct State {
        var reasons: WakeReasons = []
        var waiter: CheckedContinuation<WakeReasons, Never>?
    }
    private let state = Mutex(State())

    func signal(_ reasons: WakeReasons) {
        let woken = state.withLock { state -> (CheckedContinuation<WakeReasons, Never>, WakeReasons)? in
            state.reasons.formUnion(reasons)
            guard let waiter = state.waiter else { return nil }
            defer { state = State() }
            return (waiter, state.reasons)
        }
        if let (waiter, reasons) = woken { waiter.resume(returning: reasons) }
    }

    /// The reasons signalled since the last wait, waiting at most `timeout` for one; empty when
    /// the time ran out (or the task was cancelled).
    func wait(for timeout: Duration) async -> WakeReasons {
        let ready = take()
        guard ready.isEmpty, timeout > .zero else { return ready }
        return await withTaskGroup(of: WakeReasons.self) { group in
            group.addTask { await self.next() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return []
            }
            var reasons = await group.next() ?? []
            group.cancelAll()
            // The other child may have taken a signal too: keep it.
            for await more in group { reasons.formUnion(more) }
            return reasons
        }
    }

    private func take() -> WakeReasons {
        state.withLock { state in
            defer { state.reasons = [] }
            return state.reasons
        }
    }

    private func next() async -> WakeReasons {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WakeReasons, Never>) in
                let ready = state.withLock { state -> WakeReasons? in
                    if !state.reasons.isEmpty || Task.isCancelled {
                        defer { state.reasons = [] }
                        return state.reasons
                    }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<WakeReasons, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: [])
        }
    }
}
