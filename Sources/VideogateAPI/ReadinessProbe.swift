import Foundation

/// Checks the database and the result storage for `/readyz`, both at once, and answers within a
/// deadline whatever they do: a check that hangs (a paused database, a storage endpoint that
/// accepts and never answers) counts as down once the deadline passed.
///
/// A check still running when the next probe comes is shared, not started again, so a hanging
/// dependency holds at most one check per dependency, however often the orchestrator probes.
public final class ReadinessProbe: Sendable {
    /// What a dependency answered within the deadline.
    public enum Outcome: Sendable, Equatable {
        case up
        /// The check failed; the error's description, for the log.
        case down(String)
        /// The check did not end within the deadline.
        case timedOut
    }

    private let database: SharedCheck
    private let storage: SharedCheck
    let deadline: Duration

    public init(deadline: Duration = .milliseconds(800), database: @escaping @Sendable () async throws -> Void, storage: @escaping @Sendable () async throws -> Void) {
        self.deadline = deadline
        self.database = SharedCheck(database)
        self.storage = SharedCheck(storage)
    }

    /// The outcome of both checks, each within the deadline.
    public func check() async -> (database: Outcome, storage: Outcome) {
        async let database = database.outcome(within: deadline)
        async let storage = storage.outcome(within: deadline)
        return await (database, storage)
    }
}

/// One dependency's check, run by at most one task at a time; callers wait for it or for their
/// own deadline, whichever comes first.
private actor SharedCheck {
    private let body: @Sendable () async throws -> Void
    private var running = false
    private var waiters: [Int: CheckedContinuation<ReadinessProbe.Outcome, Never>] = [:]
    private var timers: [Int: Task<Void, Never>] = [:]
    private var nextWaiter = 0

    init(_ body: @escaping @Sendable () async throws -> Void) {
        self.body = body
    }

    func outcome(within deadline: Duration) async -> ReadinessProbe.Outcome {
        let id = nextWaiter
        nextWaiter += 1
        if !running {
            running = true
            let body = self.body
            // Unstructured on purpose: a hanging check must outlive the probe that started it
            // (awaiting it would hang the probe), and it ends by itself when the dependency answers.
            Task {
                let outcome: ReadinessProbe.Outcome
                do {
                    try await body()
                    outcome = .up
                } catch {
                    outcome = .down(String(describing: error))
                }
                self.finish(outcome)
            }
        }
        return await withCheckedContinuation { continuation in
            waiters[id] = continuation
            timers[id] = Task {
                try? await Task.sleep(for: deadline)
                self.resume(id, with: .timedOut)
            }
        }
    }

    private func finish(_ outcome: ReadinessProbe.Outcome) {
        running = false
        for id in Array(waiters.keys) { resume(id, with: outcome) }
    }

    private func resume(_ id: Int, with outcome: ReadinessProbe.Outcome) {
        guard let continuation = waiters.removeValue(forKey: id) else { return }
        timers.removeValue(forKey: id)?.cancel()
        continuation.resume(returning: outcome)
    }
}
