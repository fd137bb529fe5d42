import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    /// Keeps `usage_hourly` and `usage_daily` right for a job's ledger effect, in the caller's
    /// transaction. Called by `applyLedger` for every hold, capture and release, so any path that
    /// creates or ends a job through the ledger (submit, `apply`, a cancel) keeps the rollups equal
    /// to the ledger. It runs after the balance row is locked, so it adds no new lock order.
    func recordUsage(_ db: PostgresSession, kind: LedgerEntryKind, job: Job, amount: Int) async throws {
        let delta = UsageSQL.delta(kind, job: job, amount: amount)
        let created = StoreCoding.millis(job.createdAt)
        for rollup in UsageSQL.rollups {
            try await db.run("""
                INSERT INTO \(unescaped: rollup.table) AS u (
                    account_id, environment, \(unescaped: rollup.column), model_id, key_id, jobs, completed, failed, credits_charged,
                    seconds_rendered
                ) VALUES (
                    \(job.accountID), \(job.environment.rawValue), \(rollup.bucket(created)), \(job.modelID), \(job.keyID), \(delta.jobs),
                    \(delta.completed), \(delta.failed), \(delta.creditsCharged), \(delta.secondsRendered)
                )
                ON CONFLICT (account_id, environment, \(unescaped: rollup.column), model_id, key_id) DO UPDATE SET
                    jobs = u.jobs + excluded.jobs, completed = u.completed + excluded.completed, failed = u.failed + excluded.failed,
                    credits_charged = u.credits_charged + excluded.credits_charged,
                    seconds_rendered = u.seconds_rendered + excluded.seconds_rendered
                """)
        }
    }

    public func usage(_ query: UsageQuery) async throws -> [UsageRow] {
        let split = UsageSplit(fromMillis: query.range.fromMillis, toMillis: query.range.toMillis)
        var binds = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        // Only the filters asked for are written, so each branch runs on an index whatever is given.
        func filter() -> String {
            var clause = "TRUE"
            if let account = query.accountID { clause += " AND account_id = \(bind(account))" }
            if let environment = query.environment { clause += " AND environment = \(bind(environment.rawValue))" }
            return clause
        }
        var branches = ["""
            SELECT \(UsageSQL.group(query.grouping, in: "usage_daily")) AS g, \(UsageSQL.rollupFigures)
            FROM usage_daily WHERE \(filter()) AND day >= \(bind(split.days.lowerBound)) AND day < \(bind(split.days.upperBound))
            """]
        for hours in split.hours {
            branches.append("""
                SELECT \(UsageSQL.group(query.grouping, in: "usage_hourly")) AS g, \(UsageSQL.rollupFigures)
                FROM usage_hourly WHERE \(filter()) AND hour >= \(bind(hours.lowerBound)) AND hour < \(bind(hours.upperBound))
                """)
        }
        for edge in split.edges {
            let ids = UsageSQL.idRange(edge)
            branches.append("""
                SELECT \(UsageSQL.group(query.grouping, in: "jobs")) AS g, \(UsageSQL.jobFigures)
                FROM jobs WHERE \(filter()) AND id >= \(bind(ids.lower)) AND id < \(bind(ids.upper))
                  AND created_at >= \(bind(edge.lowerBound)) AND created_at < \(bind(edge.upperBound))
                """)
        }
        let sql = """
            SELECT g, SUM(jobs)::bigint AS jobs, SUM(completed)::bigint AS completed, SUM(failed)::bigint AS failed,
                SUM(credits_charged)::bigint AS credits_charged, SUM(seconds_rendered)::bigint AS seconds_rendered
            FROM (\(branches.joined(separator: "\nUNION ALL\n"))) AS parts GROUP BY g
            """
        let rows = try await withSession { db in try await db.rows(PostgresQuery(unsafeSQL: sql, binds: binds)) }
        return UsageSQL.sorted(
            try rows.map { row in
                let row = row.makeRandomAccess()
                let group = query.grouping == .day ? UsageGrouping.dayLabel(try row.value("g", as: Int64.self)) : try row.value("g", as: String.self)
                return UsageRow(
                    group: group, jobs: try row.value("jobs"), completed: try row.value("completed"), failed: try row.value("failed"),
                    creditsCharged: try row.value("credits_charged"), secondsRendered: try row.value("seconds_rendered"))
            }, query.grouping)
    }
}
