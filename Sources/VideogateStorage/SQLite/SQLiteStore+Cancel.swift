import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    /// One write transaction: SQLite runs one writer at a time, so a claim (also a write) runs
    /// wholly before or wholly after it. Before: the job is leased and the cancel refused. After:
    /// the job is final and no claim takes it.
    public func cancel(jobID: String, accountID: String, environment: KeyEnvironment, at: Date) async throws -> CancelOutcome {
        try await pool.write { db in
            guard
                let job = try db.row(sql: "SELECT \(JobColumns.list) FROM jobs WHERE id = ? AND account_id = ? AND environment = ?",
                    arguments: [jobID, accountID, environment.rawValue]
                ).map(Job.init(row:))
            else { return .notFound }
            switch JobStateMachine.cancel(job, now: at) {
            case .alreadyCancelled:
                return .alreadyCancelled(job)
            case .notCancellable:
                return .notCancellable(job)
            case .cancel(let transition):
                guard try self.storeTransition(db, transition, fence: .unleased(at: at), at: at),
                    let stored = try self.fetchJob(db, id: job.id)
                else { return .notCancellable(job) }
                return .cancelled(stored)
            }
        }
    }
}
