import Foundation
import GRDB
import VideogateDomain

/// The embedded store: one SQLite file in WAL mode through a GRDB `DatabasePool`.
///
/// Readers run concurrently; writes are serialized, each in an IMMEDIATE transaction, and other
/// processes on the same file (`--role api` beside `--role worker`) wait on the busy timeout
/// instead of failing. Every `GatewayStore` method is one transaction.
public final class SQLiteStore: GatewayStore {
    /// How much SQLite syncs to disk on commit.
    public enum Durability: String, Sendable {
        /// Survives a process crash (SIGKILL); the last commits may roll back on power loss. Default.
        case normal
        /// Also survives power loss: an fsync on every commit.
        case full
    }

    let pool: DatabasePool
    let submitBatcher: SubmitBatcher
    let changes = SQLiteJobChangeFeed()

    /// Opens (creating if needed) the database file at `path`. With `groupCommit` off, every
    /// submission is its own transaction (only for measuring what group commit buys).
    public init(path: String, durability: Durability = .normal, busyTimeout: TimeInterval = 15, groupCommit: Bool = true) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            // Pages through the memory map instead of a read() each: fewer syscalls on the hot reads.
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
        }
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.submitBatcher = SubmitBatcher(pool: pool, maxBatch: groupCommit ? 256 : 1)
        pool.add(transactionObserver: SQLiteJobChangeObserver(feed: changes), extent: .databaseLifetime)
    }

    /// The changes this process commits (see `SQLiteJobChangeFeed`).
    public func jobChangeFeed() -> any JobChangeFeed { changes }

    public func migrate() async throws {
        try await migrate(through: .max)
    }

    /// Applies the migrations not yet applied up to `version` (tests build older schemas with it).
    func migrate(through version: Int) async throws {
        // One IMMEDIATE transaction for the whole check-and-apply: a second process starting at the
        // same moment waits for the first and then finds everything applied.
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
            let applied = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(version), 0) FROM schema_migrations") ?? 0
            for migration in SQLiteMigrations.all where migration.version > applied && migration.version <= version {
                try db.execute(sql: migration.sql)
                try db.execute(
                    sql: "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    arguments: [migration.version, migration.name, StoreCoding.millis(Date())])
            }
        }
    }

    /// Reads on the calling thread, outside an explicit transaction. A read of a few cached pages
    /// costs far less than the two thread hops of GRDB's async API and a BEGIN/COMMIT pair; with
    /// one cooperative thread per core at most that many readers wait for a connection of the
    /// pool (8). Each statement still sees one consistent snapshot; the reads here never need two
    /// statements to agree with each other (the quota beside a key is advisory, the decision that
    /// counts is made again inside the write transaction of `submit`).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead(body)
    }

    /// Like `read`, for several statements: one snapshot and one WAL read lock for all of them.
    func readSnapshot<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead { db in
            try db.run(sql: "BEGIN DEFERRED")
            do {
                let value = try body(db)
                try db.run(sql: "COMMIT")
                return value
            } catch {
                try? db.run(sql: "ROLLBACK")
                throw error
            }
        }
    }

    public func ping() async throws {
        _ = try read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    public func close() async throws {
        try pool.close()
    }
}
