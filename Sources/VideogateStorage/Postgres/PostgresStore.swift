import Foundation
import Logging
import PostgresNIO
import VideogateDomain

/// The server store: PostgreSQL through a PostgresNIO `PostgresClient` connection pool, for several
/// API replicas and workers on one database.
///
/// Every `GatewayStore` method is one statement or one READ COMMITTED transaction. What must hold
/// with many processes at once is made so by row locks, not by the isolation level: a key's
/// submissions queue on its `api_keys` row, a hold is a conditional UPDATE of the balance row, jobs
/// and webhook deliveries are claimed with `FOR UPDATE SKIP LOCKED` under a lease, and a final
/// transition is fenced by its lease. A transaction PostgreSQL aborts for a serialization failure or
/// a deadlock (SQLSTATE 40001, 40P01) is run again.
public final class PostgresStore: GatewayStore {
    let client: PostgresClient
    /// The pool's settings, for connections of its own (the job change feed's).
    let configuration: PostgresClient.Configuration
    let logger: Logger
    /// The pool's background work (`PostgresClient.run()`), for the store's lifetime.
    private let runner: Task<Void, Never>

    /// How many times a transaction runs before its transient failure is thrown.
    static let maxAttempts = 8

    /// Connects lazily to the database at `url` with at most `poolSize` connections.
    ///
    /// `url` is `postgres://` or `postgresql://user:password@host:port/database?sslmode=…`, with
    /// `sslmode` one of disable, prefer (the default, as libpq), require, verify-ca or verify-full.
    /// Throws `PostgresURLError` for a malformed URL or a pool size below 1.
    public init(url: String, poolSize: Int, logger: Logger) throws {
        guard poolSize >= 1 else { throw PostgresURLError("the pool size must be at least 1, not \(poolSize)") }
        var configuration = try PostgresURL(url).configuration
        configuration.options.maximumConnections = poolSize
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.configuration = configuration
        self.logger = logger
        // Started at once, on this thread: `run()` marks the client running before its first
        // suspension, so the first lease (often `migrate` right after) finds it running.
        if #available(macOS 26.0, *) {
            self.runner = Task.immediate { await client.run() }
        } else {
            self.runner = Task { await client.run() }
        }
    }

    public func migrate() async throws {
        try await migrate(through: .max)
    }

    /// Applies the migrations not yet applied up to `version` (tests build older schemas with it).
    func migrate(through version: Int) async throws {
        // One transaction for the whole check-and-apply, behind a transaction-scoped advisory lock:
        // a second replica starting at the same moment waits for the first and then finds everything
        // applied (and no two `CREATE TABLE IF NOT EXISTS` race each other).
        try await transaction { db in
            try await db.run("SELECT pg_advisory_xact_lock(\(PostgresMigrations.lockKey))")
            try await db.run("""
                CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """)
            let applied = try await db.value(Int.self, "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations") ?? 0
            for migration in PostgresMigrations.all where migration.version > applied && migration.version <= version {
                for statement in migration.statements { try await db.run(PostgresQuery(unsafeSQL: statement)) }
                try await db.run("""
                    INSERT INTO schema_migrations (version, name, applied_at)
                    VALUES (\(migration.version), \(migration.name), \(StoreCoding.millis(Date())))
                    """)
            }
        }
    }

    public func ping() async throws {
        try await withSession { db in try await db.run("SELECT 1") }
    }

    public func close() async throws {
        runner.cancel()
        await runner.value
    }

    // MARK: Running statements

    /// Runs `body` on a pooled connection outside an explicit transaction: each statement is atomic
    /// by itself and sees the data committed when it starts.
    func withSession<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(PostgresSession(connection: connection, logger: logger))
        }
    }

    /// Runs `body` in one transaction (READ COMMITTED) on a pooled connection, committing when it
    /// returns and rolling back when it throws. The whole transaction runs again, up to
    /// `maxAttempts` times, when PostgreSQL aborted it for a serialization failure or a deadlock, or
    /// when `body` threw `PostgresRetry`. Throws what `body` threw, or the database's error.
    func transaction<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await client.withTransaction(logger: logger) { connection in
                    try await body(PostgresSession(connection: connection, logger: logger))
                }
            } catch {
                let cause = Self.cause(of: error)
                guard attempt < Self.maxAttempts, Self.isTransient(cause) else { throw cause }
                logger.debug("transaction runs again", metadata: ["attempt": "\(attempt)", "cause": "\(String(reflecting: cause))"])
                attempt += 1
                // A short random pause, so the transactions that collided do not collide again.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...5) * attempt))
            }
        }
    }

    /// Runs `operation` to its end even when the calling task is cancelled: the pool refuses to lease
    /// a connection to a cancelled task, and handing a lease back is what a cancelled step does.
    func uncancelled<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Task { try await operation() }.value
    }

    /// The error `body` or the database threw, out of PostgresNIO's transaction wrapper.
    static func cause(of error: any Error) -> any Error {
        guard let wrapped = error as? PostgresTransactionError else { return error }
        return wrapped.closureError ?? wrapped.commitError ?? wrapped.beginError ?? error
    }

    /// Whether running the transaction again may succeed.
    static func isTransient(_ error: any Error) -> Bool {
        if error is PostgresRetry { return true }
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }
}

/// Thrown inside a transaction to roll it back and run it again: what it met was written by a
/// concurrent transaction that has committed since (a submission with the same idempotency key).
struct PostgresRetry: Error {}
