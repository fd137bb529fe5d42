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

extension LedgerEntry {
    init(row: Row) throws {
        self.init(
            id: row["id"], accountID: row["account_id"], environment: try enumValue(row["environment"]), kind: try enumValue(row["kind"]),
            amount: row["amount"], jobID: row["job_id"], reason: row["reason"],
            balanceAfter: Balance(total: row["total_after"], held: row["held_after"]),
            createdAt: StoreCoding.date(row["created_at"] as Int64))
    }
}

extension Job {
    init(row: Row) throws {
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
        updatedAt = StoreCoding.date(row["updated_at"] as Int64)
        submittedAt = StoreCoding.date(row["submitted_at"] as Int64?)
        completedAt = StoreCoding.date(row["completed_at"] as Int64?)
        expiresAt = StoreCoding.date(row["expires_at"] as Int64?)
        if let videoKey: String = row["video_key"] {
            result = JobResult(
                videoKey: videoKey, thumbnailKey: row["thumbnail_key"], videoBytes: row["video_bytes"] ?? 0,
                durationMilliseconds: row["video_duration_ms"] ?? 0, width: row["video_width"] ?? 0, height: row["video_height"] ?? 0)
        }
        resultDeleted = (row["result_deleted"] as Int) != 0
    }
}
