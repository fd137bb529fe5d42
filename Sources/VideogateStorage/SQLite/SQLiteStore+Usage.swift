import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    /// Keeps `usage_hourly` and `usage_daily` right for a job's ledger effect, in the caller's
    /// transaction. Called by `applyLedger` for every hold, capture and release, so any path that
    /// creates or ends a job through the ledger (submit, `apply`, a cancel) keeps the rollups equal
    /// to the ledger.
    func recordUsage(_ db: Database, kind: LedgerEntryKind, job: Job, amount: Int) throws {
        let delta = UsageSQL.delta(kind, job: job, amount: amount)
        let created = StoreCoding.millis(job.createdAt)
        for rollup in UsageSQL.rollups {
            try db.run(sql: """
                    INSERT INTO \(rollup.table) (
                        account_id, environment, \(rollup.column), model_id, key_id, jobs, completed, failed, credits_charged, seconds_rendered
                    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (account_id, environment, \(rollup.column), model_id, key_id) DO UPDATE SET
                        jobs = jobs + excluded.jobs, completed = completed + excluded.completed, failed = failed + excluded.failed,
                        credits_charged = credits_charged + excluded.credits_charged,
                        seconds_rendered = seconds_rendered + excluded.seconds_rendered
                    """,
                arguments: [
                    job.accountID, job.environment.rawValue, rollup.bucket(created), job.modelID, job.keyID, delta.jobs, delta.completed,
                    delta.failed, delta.creditsCharged, delta.secondsRendered,
                ])
        }
    }

    public func usage(_ query: UsageQuery) async throws -> [UsageRow] {
        let split = UsageSplit(fromMillis: query.range.fromMillis, toMillis: query.range.toMillis)
        // Only the filters asked for are written, so each branch runs on an index (the account's
        // primary key prefix, or the environment's bucket and id indexes) whatever is given.
        var filter = "1 = 1"
        var filterArguments: [(any DatabaseValueConvertible)?] = []
        if let account = query.accountID {
            filter += " AND account_id = ?"
            filterArguments.append(account)
        }
        if let environment = query.environment {
            filter += " AND environment = ?"
            filterArguments.append(environment.rawValue)
        }
        var branches = ["""
            SELECT \(UsageSQL.group(query.grouping, in: "usage_daily")) AS g, \(UsageSQL.rollupFigures)
            FROM usage_daily WHERE \(filter) AND day >= ? AND day < ?
            """]
        var arguments = filterArguments + [split.days.lowerBound, split.days.upperBound]
        for hours in split.hours {
            branches.append("""
                SELECT \(UsageSQL.group(query.grouping, in: "usage_hourly")) AS g, \(UsageSQL.rollupFigures)
                FROM usage_hourly WHERE \(filter) AND hour >= ? AND hour < ?
                """)
            arguments += filterArguments + [hours.lowerBound, hours.upperBound]
        }
        for edge in split.edges {
            let ids = UsageSQL.idRange(edge)
            branches.append("""
                SELECT \(UsageSQL.group(query.grouping, in: "jobs")) AS g, \(UsageSQL.jobFigures)
                FROM jobs WHERE \(filter) AND id >= ? AND id < ? AND created_at >= ? AND created_at < ?
                """)
            arguments += filterArguments + [ids.lower, ids.upper, edge.lowerBound, edge.upperBound]
        }
        let sql = """
            SELECT g, SUM(jobs) AS jobs, SUM(completed) AS completed, SUM(failed) AS failed,
                SUM(credits_charged) AS credits_charged, SUM(seconds_rendered) AS seconds_rendered
            FROM (\(branches.joined(separator: "\nUNION ALL\n"))) GROUP BY g
            """
        let rows = try read { db in try db.rows(sql: sql, arguments: StatementArguments(arguments)) }
        return UsageSQL.sorted(
            rows.map { row in
                UsageRow(
                    group: query.grouping == .day ? UsageGrouping.dayLabel(row["g"]) : row["g"], jobs: row["jobs"],
                    completed: row["completed"], failed: row["failed"], creditsCharged: row["credits_charged"],
                    secondsRendered: row["seconds_rendered"])
            }, query.grouping)
    }
}
