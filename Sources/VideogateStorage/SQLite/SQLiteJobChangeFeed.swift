import Foundation
import GRDB
import Synchronization

/// The SQLite change feed: the jobs this process's writer connection changed, reported after each
/// commit. Writes of other processes on the same file (a `--role worker` beside a `--role api`)
/// are not seen here; watchers re-read their job every `fallbackInterval` for those. `.all` is
/// reported once, when `run` has subscribed.
public final class SQLiteJobChangeFeed: JobChangeFeed {
    private let subscribers = Mutex<(next: UInt64, all: [UInt64: @Sendable (JobChange) -> Void])>((0, [:]))

    public var fallbackInterval: Duration? { .milliseconds(500) }

    public func run(_ deliver: @escaping @Sendable (JobChange) -> Void) async {
        let id = subscribers.withLock { state in
            state.next += 1
            state.all[state.next] = deliver
            return state.next
        }
        defer { _ = subscribers.withLock { $0.all.removeValue(forKey: id) } }
        deliver(.all)
        let (wait, end) = AsyncStream<Never>.makeStream()
        await withTaskCancellationHandler {
            for await _ in wait {}
        } onCancel: {
            end.finish()
        }
    }

    var isWatched: Bool { subscribers.withLock { !$0.all.isEmpty } }

    func send(_ change: JobChange) {
        for deliver in subscribers.withLock({ Array($0.all.values) }) { deliver(change) }
    }
}

/// Collects the rows of `jobs` a transaction inserted or whose status, progress or lease it set,
/// and hands their ids to the feed once the transaction has committed (never on rollback).
/// GRDB calls it on the writer connection's queue only, one transaction at a time.
final class SQLiteJobChangeObserver: TransactionObserver, @unchecked Sendable {
    private static let watched: Set<String> = ["status", "progress", "lease_owner"]
    private let feed: SQLiteJobChangeFeed
    private var rowIDs: Set<Int64> = []

    init(feed: SQLiteJobChangeFeed) { self.feed = feed }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        switch eventKind {
        case .insert(let table): return table == "jobs"
        case .update(let table, let columns): return table == "jobs" && !columns.isDisjoint(with: Self.watched)
        case .delete: return false
        }
    }

    func databaseDidChange(with event: DatabaseEvent) {
        rowIDs.insert(event.rowID)
    }

    func databaseDidCommit(_ db: Database) {
        guard !rowIDs.isEmpty else { return }
        let changed = rowIDs
        rowIDs = []
        guard feed.isWatched else { return }
        // The rowids are integers this observer collected; a read on the writer, after the commit.
        let list = changed.map(String.init).joined(separator: ",")
        let ids = (try? String.fetchAll(db, sql: "SELECT id FROM jobs WHERE rowid IN (\(list))")) ?? []
        for id in ids { feed.send(.job(id)) }
    }

    func databaseDidRollback(_ db: Database) {
        rowIDs = []
    }
}
