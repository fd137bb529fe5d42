import Foundation
import Logging
import PostgresNIO
import VideogateDomain

/// A leased connection (in a transaction or not) with the logger its statements log to. Lives only
/// inside the closure of `PostgresStore.read` or `transaction`, which must not let it escape.
struct PostgresSession {
    let connection: PostgresConnection
    let logger: Logger

    /// Every row of a statement.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(query, logger: logger).collect()
    }

    /// The first row of a statement, or nil.
    func row(_ query: PostgresQuery) async throws -> PostgresRow? {
        try await rows(query).first
    }

    /// Runs a statement, ignoring any rows.
    func run(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    /// The first column of the first row (not NULL), or nil when there is no row.
    func value<T: PostgresDecodable>(_ type: T.Type, _ query: PostgresQuery) async throws -> T? {
        guard let row = try await row(query) else { return nil }
        return try row.makeRandomAccess()[0].decode(T.self)
    }
}

extension PostgresRandomAccessRow {
    /// The value of a column by name; throws when it is missing or of another type.
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    /// A millisecond time column as a date.
    func date(_ column: String) throws -> Date {
        StoreCoding.date(try value(column, as: Int64.self))
    }

    /// A nullable millisecond time column as a date.
    func optionalDate(_ column: String) throws -> Date? {
        StoreCoding.date(try value(column, as: Int64?.self))
    }

    /// A text column holding one of an enum's raw values.
    func enumValue<T: RawRepresentable>(_ column: String) throws -> T where T.RawValue == String {
        try VideogateStorage.enumValue(try value(column, as: String.self))
    }
}

extension Account {
    init(row raw: PostgresRow) throws {
        let row = raw.makeRandomAccess()
        self.init(
            id: try row.value("id"), name: try row.value("name"), plan: try row.enumValue("plan"), dailyLimit: try row.value("daily_limit"),
            webhookSecret: try row.value("webhook_secret"), createdAt: try row.date("created_at"))
    }
}

extension APIKey {
    /// A row of `api_keys`.
    init(row raw: PostgresRow) throws {
        let row = raw.makeRandomAccess()
        self.init(
            id: try row.value("id"), accountID: try row.value("account_id"), environment: try row.enumValue("environment"),
            name: try row.value("name"), prefix: try row.value("prefix"), hash: try row.value("hash"), createdAt: try row.date("created_at"),
            revokedAt: try row.optionalDate("revoked_at"), spendLimitDaily: try row.value("spend_limit_daily"))
    }
}

extension Balance {
    /// A row with `total` and `held`.
    init(row raw: PostgresRow) throws {
        let row = raw.makeRandomAccess()
        self.init(total: try row.value("total"), held: try row.value("held"))
    }
}

extension LedgerEntry {
    init(row raw: PostgresRow) throws {
        let row = raw.makeRandomAccess()
        self.init(
            id: try row.value("id"), accountID: try row.value("account_id"), environment: try row.enumValue("environment"),
            kind: try row.enumValue("kind"), amount: try row.value("amount"), jobID: try row.value("job_id"), reason: try row.value("reason"),
            balanceAfter: Balance(total: try row.value("total_after"), held: try row.value("held_after")), createdAt: try row.date("created_at"))
    }
}

extension Job {
    /// Decodes a row selected with `JobColumns.list`, as `init(row:)` does a SQLite row.
    init(row raw: PostgresRow) throws {
        let row = raw.makeRandomAccess()
        let model = VideoModel(
            id: try row.value("model_id"), provider: try row.enumValue("provider"), mode: try row.enumValue("mode"),
            credits: try row.value("credits_reserved"), durations: [try row.value("duration")], aspectRatios: [try row.enumValue("aspect_ratio")],
            upstreamModel: try row.value("upstream_model"))
        let submission = Submission(
            model: model, mode: model.mode, prompt: try row.value("prompt"), image: nil, aspectRatio: model.aspectRatios[0],
            duration: try row.value("duration"), webhookURL: try row.value("webhook_url"),
            metadata: StoreCoding.decodeMetadata(try row.value("metadata")))
        self.init(
            id: try row.value("id"), accountID: try row.value("account_id"), keyID: try row.value("key_id"),
            environment: try row.enumValue("environment"), model: model, submission: submission, imageKey: try row.value("image_key"),
            createdAt: try row.date("created_at"), deadlineAt: try row.date("deadline_at"))
        // The stored provider wins over the one derived from environment and model.
        provider = try row.enumValue("provider")
        imageURL = try row.value("image_url")
        status = try row.enumValue("status")
        progress = try row.value("progress")
        creditsUsed = try row.value("credits_used")
        if let code = try row.value("error_code", as: String?.self) {
            failure = JobFailure(try VideogateStorage.enumValue(code), try row.value("error_message", as: String?.self) ?? "")
        }
        providerJobID = try row.value("provider_job_id")
        providerRequestID = try row.value("provider_request_id")
        attempts = try row.value("attempts")
        nextAttemptAt = try row.date("next_attempt_at")
        leaseOwner = try row.value("lease_owner")
        leaseExpiresAt = try row.optionalDate("lease_expires_at")
        leaseToken = try row.value("lease_token")
        updatedAt = try row.date("updated_at")
        submittedAt = try row.optionalDate("submitted_at")
        completedAt = try row.optionalDate("completed_at")
        expiresAt = try row.optionalDate("expires_at")
        credential = try row.value("credential")
        credentialDefinition = try row.value("credential_definition")
        routedModel = try row.value("routed_model")
        traceParent = try row.value("trace_parent")
        if let videoKey = try row.value("video_key", as: String?.self) {
            result = JobResult(
                videoKey: videoKey, thumbnailKey: try row.value("thumbnail_key"), videoBytes: try row.value("video_bytes", as: Int64?.self) ?? 0,
                durationMilliseconds: try row.value("video_duration_ms", as: Int?.self) ?? 0,
                width: try row.value("video_width", as: Int?.self) ?? 0, height: try row.value("video_height", as: Int?.self) ?? 0)
        }
        resultDeleted = try row.value("result_deleted")
    }
}

extension WebhookDelivery {
    /// Decodes a row selected with `WebhookDelivery.columns`, without its attempts.
    init(row raw: PostgresRow) throws {
        let row = raw.makeRandomAccess()
        self.init(
            id: try row.value("id"), jobID: try row.value("job_id"), accountID: try row.value("account_id"), url: try row.value("url"),
            event: try row.enumValue("event"), status: try row.enumValue("status"), attemptCount: try row.value("attempt_count"),
            nextAttemptAt: try row.date("next_attempt_at"), leaseOwner: try row.value("lease_owner"),
            leaseExpiresAt: try row.optionalDate("lease_expires_at"), createdAt: try row.date("created_at"),
            finishedAt: try row.optionalDate("finished_at"))
    }
}
