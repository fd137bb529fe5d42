import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    /// One transaction that first locks the job's row (`FOR UPDATE`). A claim locks candidates with
    /// `FOR UPDATE SKIP LOCKED` and re-checks them once locked, so against a concurrent claim either
    /// the claim locked the row first (the cancel waits, then reads the lease the claim wrote and is
    /// refused) or the cancel did (the claim passes over the row, and the row it could lock later is
    /// final).
    public func cancel(jobID: String, accountID: String, environment: KeyEnvironment, at: Date) async throws -> CancelOutcome {
        try await transaction { db in
            guard
                let job = try await db.row("""
                    SELECT \(unescaped: JobColumns.list) FROM jobs
                    WHERE id = \(jobID) AND account_id = \(accountID) AND environment = \(environment.rawValue)
                    FOR UPDATE
                    """
                ).map(Job.init(row:))
            else { return .notFound }
            switch JobStateMachine.cancel(job, now: at) {
            case .alreadyCancelled:
                return .alreadyCancelled(job)
            case .notCancellable:
                return .notCancellable(job)
            case .cancel(let transition):
                guard try await self.storeTransition(db, transition, fence: .unleased(at: at), at: at),
                    let stored = try await self.fetchJob(db, id: job.id)
                else { return .notCancellable(job) }
                return .cancelled(stored)
            }
        }
    }
}
