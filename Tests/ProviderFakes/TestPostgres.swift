import Foundation
import Logging
import NIOPosix
import PostgresNIO

/// The throw-away PostgreSQL cluster `scripts/with-services` starts (`VIDEOGATE_TEST_POSTGRES_URL`,
/// a superuser URL). Each test gets a database of its own, made here and dropped afterwards.
public enum TestPostgres {
    /// The cluster's URL, or nil when the tests run without it.
    public static var adminURL: String? {
        guard let url = ProcessInfo.processInfo.environment["VIDEOGATE_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    /// Whether the run must have the services (`scripts/test` sets `VIDEOGATE_TEST_REQUIRE_SERVICES=1`):
    /// then a missing service fails the tests that need it instead of leaving them out.
    public static var required: Bool { ProcessInfo.processInfo.environment["VIDEOGATE_TEST_REQUIRE_SERVICES"] == "1" }

    /// Whether the server tests run on PostgreSQL (`VIDEOGATE_TEST_STORE=postgres`) instead of SQLite.
    public static var serverTestsUsePostgres: Bool { ProcessInfo.processInfo.environment["VIDEOGATE_TEST_STORE"] == "postgres" }

    /// Creates an empty database and returns its URL and a function that drops it.
    public static func createDatabase() async throws -> (url: String, drop: @Sendable () async -> Void) {
        guard let adminURL, let components = URLComponents(string: adminURL), let host = components.host else {
            throw TestPostgresError("VIDEOGATE_TEST_POSTGRES_URL is not set (run the tests through scripts/with-services)")
        }
        let name = "vgt_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await execute("CREATE DATABASE \(name)", components: components, host: host)
        var target = components
        target.path = "/" + name
        let url = target.string ?? adminURL
        return (url, { try? await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", components: components, host: host) })
    }

    private static func execute(_ sql: String, components: URLComponents, host: String) async throws {
        let database = components.path.isEmpty ? "postgres" : String(components.path.dropFirst())
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres", password: components.password,
            database: database, tls: .disable)
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 1, logger: Logger(label: "test-postgres"))
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test-postgres"))
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
