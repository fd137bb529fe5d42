import VideogateDomain

/// What both stores share for usage: the rollup's change for a ledger effect and the group
/// expressions (the same SQL in both dialects: integer columns divide to whole days).
enum UsageSQL {
    /// A change of one `usage_hourly` row: the hour of the job's creation, its model and key.
    struct Delta {
        var hour: Int64
        var jobs = 0
        var completed = 0
        var failed = 0
        var creditsCharged = 0
        var secondsRendered = 0
    }

    /// The rollup change that goes with a job's ledger effect: a hold creates the job, a capture
    /// completes it (charging exactly the captured amount), a release fails it.
    static func delta(_ kind: LedgerEntryKind, job: Job, amount: Int) -> Delta {
        var delta = Delta(hour: UsageSplit.hour(ofMillis: StoreCoding.millis(job.createdAt)))
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

    /// The group of a `usage_hourly` row.
    static func rollupGroup(_ grouping: UsageGrouping) -> String {
        switch grouping {
        case .day: "hour / 24"
        case .model: "model_id"
        case .key: "key_id"
        case .account: "account_id"
        }
    }

    /// The group of a `jobs` row.
    static func jobGroup(_ grouping: UsageGrouping) -> String {
        switch grouping {
        case .day: "created_at / 86400000"
        case .model: "model_id"
        case .key: "key_id"
        case .account: "account_id"
        }
    }

    /// A job's contribution, as the columns the rollup keeps (`completed` jobs charged `credits_used`,
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
