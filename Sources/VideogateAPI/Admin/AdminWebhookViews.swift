import Foundation
import VideogateDomain

/// A job's webhook deliveries with their attempts, as `GET /admin/jobs/{id}/webhooks` shows them.
struct AdminWebhookDeliveriesView: Encodable {
    let success = true
    let jobID: String
    let data: [AdminWebhookDeliveryView]
    enum CodingKeys: String, CodingKey {
        case success, data
        case jobID = "job_id"
    }
}

/// One delivery: its `webhook-id`, where it goes, where it stands, and every attempt.
struct AdminWebhookDeliveryView: Encodable {
    let id: String
    let jobID: String
    let url: String
    let event: String
    let status: String
    let attemptCount: Int
    /// When the next attempt is due; null once delivered or failed.
    let nextAttemptAt: String?
    let createdAt: String
    let finishedAt: String?
    let attempts: [AdminWebhookAttemptView]
    enum CodingKeys: String, CodingKey {
        case id, url, event, status, attempts
        case jobID = "job_id"
        case attemptCount = "attempt_count"
        case nextAttemptAt = "next_attempt_at"
        case createdAt = "created_at"
        case finishedAt = "finished_at"
    }

    init(_ delivery: WebhookDelivery) {
        id = delivery.id
        jobID = delivery.jobID
        url = delivery.url
        event = delivery.event.rawValue
        status = delivery.status.rawValue
        attemptCount = delivery.attemptCount
        nextAttemptAt = delivery.status == .pending ? delivery.nextAttemptAt.rfc3339 : nil
        createdAt = delivery.createdAt.rfc3339
        finishedAt = delivery.finishedAt?.rfc3339
        attempts = delivery.attempts.map(AdminWebhookAttemptView.init)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(jobID, forKey: .jobID)
        try container.encode(url, forKey: .url)
        try container.encode(event, forKey: .event)
        try container.encode(status, forKey: .status)
        try container.encode(attemptCount, forKey: .attemptCount)
        try container.encode(nextAttemptAt, forKey: .nextAttemptAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(attempts, forKey: .attempts)
    }
}

/// One POST: when, the receiver's status (null when none came), how long it took, and why it failed (null when it did not).
struct AdminWebhookAttemptView: Encodable {
    let number: Int
    let attemptedAt: String
    let statusCode: Int?
    let latencyMs: Int
    let error: String?
    enum CodingKeys: String, CodingKey {
        case number, error
        case attemptedAt = "attempted_at"
        case statusCode = "status_code"
        case latencyMs = "latency_ms"
    }

    init(_ attempt: WebhookAttempt) {
        number = attempt.number
        attemptedAt = attempt.attemptedAt.rfc3339
        statusCode = attempt.statusCode
        latencyMs = attempt.latencyMilliseconds
        error = attempt.error
    }

    // Explicit nulls: an absent status code is information ("no answer came").
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(number, forKey: .number)
        try container.encode(attemptedAt, forKey: .attemptedAt)
        try container.encode(statusCode, forKey: .statusCode)
        try container.encode(latencyMs, forKey: .latencyMs)
        try container.encode(error, forKey: .error)
    }
}
