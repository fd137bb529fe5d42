import Foundation

/// What a change feed reports: a job whose row changed in a way a watcher of it may care about.
public enum JobChange: Sendable, Equatable {
    /// This job was created, or its status, progress or lease changed; the change is committed.
    case job(String)
    /// Changes may have been missed (the feed has just (re)connected): every watcher reads its job again.
    case all
}

/// Where committed job changes come from, for the live status streams of an API process.
///
/// A feed sees the changes of every process on the database where the database can tell it
/// (PostgreSQL `LISTEN/NOTIFY`); where it sees only this process's writes (SQLite), it asks watchers
/// to re-read their job every `fallbackInterval` to catch writers in other processes.
public protocol JobChangeFeed: Sendable {
    /// Calls `deliver` for every committed change until the calling task is cancelled, reconnecting
    /// after failures (each (re)connection is followed by `.all`). `deliver` must return quickly.
    func run(_ deliver: @escaping @Sendable (JobChange) -> Void) async
    /// How often a watcher should re-read its job whatever the feed says; nil when the feed sees
    /// the writes of every process.
    var fallbackInterval: Duration? { get }
}
