import Foundation
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
