import VideogateDomain

/// What both stores share for usage: the rollup's change for a ledger effect and the group
/// expressions (the same SQL in both dialects: integer columns divide to whole days).
enum UsageSQL {
    /// The two rollups, each keyed by (account, environment, bucket of the job's creation, model,
    /// key): the table, its bucket column, and the bucket of a creation time in milliseconds.
    static let rollups: [(table: String, column: String, bucket: @Sendable (Int64) -> Int64)] = [
        ("usage_hourly", "hour", UsageSplit.hour(ofMillis:)),
        ("usage_daily", "day", UsageSplit.day(ofMillis:)),
    ]

    /// A change of one job's rollup rows (the job's creation bucket, model and key).
    struct Delta {
        var jobs = 0
        var completed = 0
        var failed = 0
        var creditsCharged = 0
        var secondsRendered = 0
    }

    /// The rollup change that goes with a job's ledger effect: a hold creates the job, a capture
    /// completes it (charging exactly the captured amount), a release fails it.
    static func delta(_ kind: LedgerEntryKind, job: Job, amount: Int) -> Delta {
        var delta = Delta()
        switch kind {
        case .hold: delta.jobs = 1
        case .capture:
            delta.completed = 1
            delta.creditsCharged = amount
            delta.secondsRendered = job.duration
        case .release: delta.failed = 1
        case .grant: preconditionFailure("grants are not job ledger effects")
        }
        return delta
    }

    /// The group of a row of `usage_daily`, `usage_hourly` or `jobs`.
    static func group(_ grouping: UsageGrouping, in table: String) -> String {
        switch (grouping, table) {
        case (.day, "usage_daily"): "day"
        case (.day, "usage_hourly"): "hour / 24"
        case (.day, _): "created_at / 86400000"
        case (.model, _): "model_id"
        case (.key, _): "key_id"
        case (.account, _): "account_id"
        }
    }

    /// The columns of a rollup branch, named as the outer query sums them.
    static let rollupFigures = "jobs, completed, failed, credits_charged, seconds_rendered"

    /// A job's contribution, as the columns the rollups keep (`completed` jobs charged `credits_used`,
    /// which is their capture).
    static let jobFigures = """
        1, CASE WHEN status = 'completed' THEN 1 ELSE 0 END, CASE WHEN status = 'error' THEN 1 ELSE 0 END,
        CASE WHEN status = 'completed' THEN credits_used ELSE 0 END, CASE WHEN status = 'completed' THEN duration ELSE 0 END
        """

    /// The id range of jobs created in a millisecond range: ids are time-sortable and made at the
    /// job's creation time (`Identifier.lowerBound`), so the range runs on the id indexes.
    static func idRange(_ millis: Range<Int64>) -> (lower: String, upper: String) {
        (Identifier.lowerBound("req", atMillis: millis.lowerBound), Identifier.lowerBound("req", atMillis: millis.upperBound))
    }

    /// Rows in ascending order of their group (the same order whatever the database's collation).
    static func sorted(_ rows: [UsageRow], _ grouping: UsageGrouping) -> [UsageRow] {
        rows.sorted { $0.group.utf8.lexicographicallyPrecedes($1.group.utf8) }
    }
}
