import Foundation
import PostgresNIO
import VideogateDomain

/// The queries of the OpenAI-compatible surface (`/v1/videos`): its own list order and the jobs
/// deleted through it (`jobs.openai_deleted_at`).
extension PostgresStore {
    public func openAIVideos(accountID: String, environment: KeyEnvironment, after: String?, ascending: Bool, limit: Int) async throws -> [Job] {
        // Ids are time-sortable, so id order is creation order; both directions use jobs_by_account_environment.
        let (comparison, direction) = ascending ? (">", "ASC") : ("<", "DESC")
        return try await withSession { db in
            try await db.rows("""
                SELECT \(unescaped: JobColumns.list) FROM jobs
                WHERE account_id = \(accountID) AND environment = \(environment.rawValue) AND openai_deleted_at IS NULL
                  AND (\(after)::text IS NULL OR id \(unescaped: comparison) \(after))
                ORDER BY id \(unescaped: direction) LIMIT \(limit)
                """
            ).map(Job.init(row:))
        }
    }

    public func isOpenAIVideoDeleted(jobID: String) async throws -> Bool {
        try await withSession { db in
            try await db.value(Bool.self, "SELECT openai_deleted_at IS NOT NULL FROM jobs WHERE id = \(jobID)") ?? false
        }
    }

    public func deleteOpenAIVideo(jobID: String, accountID: String, environment: KeyEnvironment, at: Date) async throws -> Bool {
        try await withSession { db in
            try await db.row("""
                UPDATE jobs SET openai_deleted_at = \(StoreCoding.millis(at)), result_deleted = TRUE
                WHERE id = \(jobID) AND account_id = \(accountID) AND environment = \(environment.rawValue)
                  AND status IN ('completed', 'error') AND openai_deleted_at IS NULL
                RETURNING id
                """) != nil
        }
    }
}
