import Foundation
import GRDB
import VideogateDomain

/// The queries of the OpenAI-compatible surface (`/v1/videos`): its own list order and the jobs
/// deleted through it (`jobs.openai_deleted_at`).
extension SQLiteStore {
    public func openAIVideos(accountID: String, environment: KeyEnvironment, after: String?, ascending: Bool, limit: Int) async throws -> [Job] {
        // Ids are time-sortable, so id order is creation order; both directions use jobs_by_account_environment.
        let (comparison, direction) = ascending ? (">", "ASC") : ("<", "DESC")
        return try read { db in
            try db.rows(sql: """
                    SELECT \(JobColumns.list) FROM jobs
                    WHERE account_id = ?1 AND environment = ?4 AND openai_deleted_at IS NULL AND (?2 IS NULL OR id \(comparison) ?2)
                    ORDER BY id \(direction) LIMIT ?3
                    """,
                arguments: [accountID, after, limit, environment.rawValue]
            ).map(Job.init(row:))
        }
    }

    public func isOpenAIVideoDeleted(jobID: String) async throws -> Bool {
        try read { db in
            try db.value(Bool.self, sql: "SELECT openai_deleted_at IS NOT NULL FROM jobs WHERE id = ?", arguments: [jobID]) ?? false
        }
    }

    public func deleteOpenAIVideo(jobID: String, accountID: String, environment: KeyEnvironment, at: Date) async throws -> Bool {
        try await pool.write { db in
            try db.run(sql: """
                    UPDATE jobs SET openai_deleted_at = ?, result_deleted = 1
                    WHERE id = ? AND account_id = ? AND environment = ? AND status IN ('completed', 'error') AND openai_deleted_at IS NULL
                    """,
                arguments: [StoreCoding.millis(at), jobID, accountID, environment.rawValue])
            return db.changesCount > 0
        }
    }
}
