import GRDB
import Synchronization
import VideogateDomain

/// Group commit for submissions: submissions that arrive while one transaction is being
/// written are run together in the next one, each in its own savepoint (so one failing rolls
/// back only itself), and every caller is answered only after the COMMIT that holds its job.
/// One batch per turn of the writer queue, so claims and job updates queued meanwhile are not
/// starved.
final class SubmitBatcher: Sendable {
    typealias Operation = @Sendable (Database) throws -> SubmitOutcome

    private struct Pending: Sendable {
        let operation: Operation
        let continuation: CheckedContinuation<SubmitOutcome, any Error>
    }

    private let pool: DatabasePool
    private let state = Mutex<(items: [Pending], scheduled: Bool)>(([], false))
    /// Most submissions in one transaction (1: no group commit).
    private let maxBatch: Int

    init(pool: DatabasePool, maxBatch: Int = 256) {
        self.pool = pool
        self.maxBatch = max(1, maxBatch)
    }

    func run(_ operation: @escaping Operation) async throws -> SubmitOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let schedule = state.withLock { state -> Bool in
                state.items.append(Pending(operation: operation, continuation: continuation))
                guard !state.scheduled else { return false }
                state.scheduled = true
                return true
            }
            if schedule { pool.asyncWriteWithoutTransaction { db in self.drainOnce(db) } }
        }
    }

    private func drainOnce(_ db: Database) {
        let batch = state.withLock { state -> [Pending] in
            let count = min(maxBatch, state.items.count)
            let batch = Array(state.items.prefix(count))
            state.items.removeFirst(count)
            return batch
        }
        var results: [Result<SubmitOutcome, any Error>] = []
        do {
            try db.inTransaction(.immediate) {
                results = batch.map { item in
                    var outcome: SubmitOutcome?
                    do {
                        try db.inSavepoint {
                            outcome = try item.operation(db)
                            return .commit
                        }
                    } catch {
                        return .failure(error)
                    }
                    return outcome.map { .success($0) } ?? .failure(StoreError.notFound)
                }
                return .commit
            }
            for (item, result) in zip(batch, results) { item.continuation.resume(with: result) }
        } catch {
            for item in batch { item.continuation.resume(throwing: error) }
        }
        let more = state.withLock { state -> Bool in
            state.scheduled = !state.items.isEmpty
            return state.scheduled
        }
        if more { pool.asyncWriteWithoutTransaction { db in self.drainOnce(db) } }
    }
}
