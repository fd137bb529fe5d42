import Foundation
import ProviderFakes

/// With `VIDEOGATE_TEST_STORE=postgres` (scripts/test's second pass) every data directory the
/// integration tests hand to a server gets a PostgreSQL database of its own, the same one for every
/// process and restart on that directory, as SQLite's file in it would be.
actor TestDatabases {
    static let shared = TestDatabases()
    private var urls: [String: String] = [:]

    /// `environment` plus `VIDEOGATE_DATABASE_URL` for its `VIDEOGATE_DATA_DIR`, when the server
    /// tests run on PostgreSQL and the test did not name a database itself.
    func environment(_ environment: [String: String]) async throws -> [String: String] {
        guard TestPostgres.serverTestsUsePostgres, environment["VIDEOGATE_DATABASE_URL"] == nil,
            let directory = environment["VIDEOGATE_DATA_DIR"]
        else { return environment }
        var result = environment
        if let url = urls[directory] {
            result["VIDEOGATE_DATABASE_URL"] = url
        } else {
            let url = try await TestPostgres.createDatabase().url
            urls[directory] = url
            result["VIDEOGATE_DATABASE_URL"] = url
        }
        return result
    }
}
