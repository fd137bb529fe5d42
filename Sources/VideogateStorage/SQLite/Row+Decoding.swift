import Foundation
import GRDB
import VideogateDomain

/// A stored value that is not one of its enum's cases (a newer version wrote it, or corruption).
struct UnknownStoredValue: Error, CustomStringConvertible {
    let value: String
    var description: String { "unknown stored enum value '\(value)'" }
}

func enumValue<T: RawRepresentable>(_ raw: String) throws -> T where T.RawValue == String {
    guard let value = T(rawValue: raw) else { throw UnknownStoredValue(value: raw) }
    return value
}

extension Account {
    init(row: Row) throws {
        self.init(
            id: row["id"], name: row["name"], plan: try enumValue(row["plan"]), dailyLimit: row["daily_limit"],
            webhookSecret: row["webhook_secret"], createdAt: StoreCoding.date(row["created_at"] as Int64))
    }
}

extension APIKey {
    /// A row of `api_keys`.
    init(row: Row) throws {
        self.init(
            id: row["id"], accountID: row["account_id"], environment: try enumValue(row["environment"]), name: row["name"],
            prefix: row["prefix"], hash: row["hash"], createdAt: StoreCoding.date(row["created_at"] as Int64),
            revokedAt: StoreCoding.date(row["revoked_at"] as Int64?), spendLimitDaily: row["spend_limit_daily"])
    }
}

extension LedgerEntry {
    init(row: Row) throws {
        self.init(
            id: row["id"], accountID: row["account_id"], environment: try enumValue(row["environment"]), kind: try enumValue(row["kind"]),
            amount: row["amount"], jobID: row["job_id"], reason: row["reason"],
            balanceAfter: Balance(total: row["total_after"], held: row["held_after"]),
            createdAt: StoreCoding.date(row["created_at"] as Int64))
    }
}

/// The columns of `jobs`, selected by name and read back by position: GRDB's lookup of a column
/// by name is a case-insensitive scan, which dominated decoding a 40-column job.
enum JobColumns {
    static let names = [
        "id",
        "account_id",
        "key_id",
        "environment",
        "model_id",
        "provider",
        "upstream_model",
        "mode",
        "prompt",
        "image_url",
        "image_key",
        "aspect_ratio",
        "duration",
        "webhook_url",
        "metadata",
        "status",
        "progress",
        "credits_reserved",
        "credits_used",
        "error_code",
        "error_message",
        "provider_job_id",
        "provider_request_id",
        "attempts",
        "next_attempt_at",
        "lease_owner",
        "lease_expires_at",
        "lease_token",
        "deadline_at",
        "created_at",
        "updated_at",
        "submitted_at",
        "completed_at",
        "expires_at",
        "video_key",
        "thumbnail_key",
        "video_bytes",
        "video_duration_ms",
        "video_width",
        "video_height",
        "result_deleted",
        "credential",
        "credential_definition",
        "routed_model",
        "trace_parent",
    ]
    static let list = names.joined(separator: ", ")
    static let position: [String: Int] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
}

/// A job row read by column position.
struct JobRow {
    let row: Row
    subscript<T: DatabaseValueConvertible>(_ name: String) -> T {
        row[JobColumns.position[name]!]
    }
}

extension Job {
    /// Decodes a row selected with `JobColumns.list`.
    init(row raw: Row) throws {
        let row = JobRow(row: raw)
        let model = VideoModel(
            id: row["model_id"], provider: try enumValue(row["provider"]), mode: try enumValue(row["mode"]), credits: row["credits_reserved"],
            durations: [row["duration"]], aspectRatios: [try enumValue(row["aspect_ratio"])], upstreamModel: row["upstream_model"])
        let submission = Submission(
            model: model, mode: model.mode, prompt: row["prompt"], image: nil, aspectRatio: model.aspectRatios[0], duration: row["duration"],
            webhookURL: row["webhook_url"], metadata: StoreCoding.decodeMetadata(row["metadata"]))
        self.init(
            id: row["id"], accountID: row["account_id"], keyID: row["key_id"], environment: try enumValue(row["environment"]), model: model,
            submission: submission, imageKey: row["image_key"], createdAt: StoreCoding.date(row["created_at"] as Int64),
            deadlineAt: StoreCoding.date(row["deadline_at"] as Int64))
        // The stored provider wins over the one derived from environment and model.
        provider = try enumValue(row["provider"])
        imageURL = row["image_url"]
        status = try enumValue(row["status"])
        progress = row["progress"]
        creditsUsed = row["credits_used"]
        if let code: String = row["error_code"] {
            failure = JobFailure(try enumValue(code), row["error_message"] ?? "")
        }
        providerJobID = row["provider_job_id"]
        providerRequestID = row["provider_request_id"]
        attempts = row["attempts"]
        nextAttemptAt = StoreCoding.date(row["next_attempt_at"] as Int64)
        leaseOwner = row["lease_owner"]
        leaseExpiresAt = StoreCoding.date(row["lease_expires_at"] as Int64?)
        leaseToken = row["lease_token"]
        updatedAt = StoreCoding.date(row["updated_at"] as Int64)
        submittedAt = StoreCoding.date(row["submitted_at"] as Int64?)
        completedAt = StoreCoding.date(row["completed_at"] as Int64?)
        expiresAt = StoreCoding.date(row["expires_at"] as Int64?)
        credential = row["credential"]
        credentialDefinition = row["credential_definition"]
        routedModel = row["routed_model"]
        traceParent = row["trace_parent"]
        if let videoKey: String = row["video_key"] {
            result = JobResult(
                videoKey: videoKey, thumbnailKey: row["thumbnail_key"], videoBytes: row["video_bytes"] ?? 0,
                durationMilliseconds: row["video_duration_ms"] ?? 0, width: row["video_width"] ?? 0, height: row["video_height"] ?? 0)
        }
        resultDeleted = (row["result_deleted"] as Int) != 0
    }
}

extension Database {
    // Statements prepared once per connection and reused: preparing (parsing, and GRDB's
    // region tracking) cost more than running the small queries of the hot paths.

    /// Runs one statement.
    func run(sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }

    /// The first row of a query, or nil.
    func row(sql: String, arguments: StatementArguments = StatementArguments()) throws -> Row? {
        try Row.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    /// Every row of a query.
    func rows(sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    /// The first column of the first row, or nil.
    func value<T: DatabaseValueConvertible & StatementColumnConvertible>(
        _ type: T.Type, sql: String, arguments: StatementArguments = StatementArguments()
    ) throws -> T? {
        try T.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }
}
