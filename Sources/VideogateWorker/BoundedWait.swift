import Foundation
import ServiceLifecycle
import Synchronization

/// Waits for an operation at most `limit`, then stops waiting and leaves it running unobserved.
/// For the shutdown path only: a store or client call that hangs on an unreachable database must
/// not keep a process from exiting, and a structured child would be awaited however long it hangs.
/// Returns false when the limit passed first (or the operation threw).
@discardableResult
public func waitAtMost(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> Void) async -> Bool {
    let outcome = FirstOutcome()
    return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        outcome.set(continuation)
        // Unstructured on purpose: the point is to stop awaiting work that may never end.
        Task {
            let finished = (try? await operation()) != nil
            outcome.resume(finished)
        }
        Task {
            try? await Task.sleep(for: limit)
            outcome.resume(false)
        }
    }
}

/// Resumes a continuation once, with whichever outcome comes first.
private final class FirstOutcome: Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)
    func set(_ value: CheckedContinuation<Bool, Never>) { continuation.withLock { $0 = value } }
    func resume(_ value: Bool) { continuation.withLock { $0.take() }?.resume(returning: value) }
}

/// Runs `operation` and returns its result, or nil as soon as graceful shutdown starts, leaving the
/// operation running unobserved. For calls that must not hold up a drain (a claim on a database
/// that stopped answering: PostgresNIO does not cancel a query in flight). A claim abandoned this
/// way may still commit; its leases run out and the jobs are claimed again.
func abandonedOnShutdown<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
    let first = FirstResult<T?>()
    return try await withGracefulShutdownHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T?, any Error>) in
            first.set(continuation)
            // Unstructured on purpose: the point is to stop awaiting work that may never end.
            Task {
                do { first.resume(.success(try await operation())) } catch { first.resume(.failure(error)) }
            }
        }
    } onGracefulShutdown: {
        first.resume(.success(nil))
    }
}

/// Resumes a continuation once with the first result, also when the result comes before the continuation.
private final class FirstResult<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
    }
    private let state = Mutex(State())

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(_ result: Result<T, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard !state.done else { return nil }
            state.done = true
            guard let continuation = state.continuation else {
                state.early = result
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }
}
