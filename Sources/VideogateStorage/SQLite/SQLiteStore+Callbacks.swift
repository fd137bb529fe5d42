import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    public func pollSoon(jobID: String, provider: ProviderKind, at: Date) async throws -> Bool {
        try await pool.write { db in
            try db.run(sql: """
                    UPDATE jobs SET next_attempt_at = MIN(next_attempt_at, ?1)
                    WHERE id = ?2 AND provider = ?3 AND status = 'processing'
                    """,
                arguments: [StoreCoding.millis(at), jobID, provider.rawValue])
            return db.changesCount > 0
        }
    }
}
