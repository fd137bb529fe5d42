import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    public func pollSoon(jobID: String, provider: ProviderKind, at: Date) async throws -> Bool {
        try await withSession { db in
            try await db.row("""
                UPDATE jobs SET next_attempt_at = LEAST(next_attempt_at, \(StoreCoding.millis(at)))
                WHERE id = \(jobID) AND provider = \(provider.rawValue) AND status = 'processing'
                RETURNING id
                """) != nil
        }
    }
}
