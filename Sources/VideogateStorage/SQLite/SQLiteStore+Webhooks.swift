import Foundation
import GRDB
import VideogateDomain

extension SQLiteStore {
    /// Writes the outbox row of a job that just reached its final state, when it has a
    /// `webhook_url`. Runs inside `apply`'s transaction, so the delivery exists exactly when the
    /// final state does; the unique `job_id` makes "one delivery per job" a database rule.
    func enqueueWebhook(_ db: Database, jobID: String, event: JobStatus, at: Date) throws {
        try db.run(sql: """
                INSERT INTO webhook_deliveries (id, job_id, account_id, url, event, status, attempt_count, next_attempt_at, created_at)
                SELECT ?, id, account_id, webhook_url, ?, 'pending', 0, ?, ? FROM jobs WHERE id = ? AND webhook_url IS NOT NULL
                """,
            arguments: [Identifier.make("msg", at: at), event.rawValue, StoreCoding.millis(at), StoreCoding.millis(at), jobID])
    }

    public func claimWebhookDeliveries(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [WebhookDelivery] {
        // Asked every half second by every worker process, and mostly nothing is due: a read
        // answers that without taking the write lock that submissions wait for.
        let due = try read { db in
            try db.value(Bool.self, sql: """
                    SELECT EXISTS (
                        SELECT 1 FROM webhook_deliveries
                        WHERE status = 'pending' AND next_attempt_at <= ?1 AND (lease_expires_at IS NULL OR lease_expires_at <= ?1)
                    )
                    """,
                arguments: [StoreCoding.millis(now)])
        }
        guard due == true else { return [] }
        return try await pool.write { db in
            try db.rows(sql: """
                    UPDATE webhook_deliveries SET lease_owner = ?1, lease_expires_at = ?2
                    WHERE id IN (
                        SELECT id FROM webhook_deliveries
                        WHERE status = 'pending' AND next_attempt_at <= ?3
                          AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
                        ORDER BY next_attempt_at LIMIT ?4
                    )
                    RETURNING \(WebhookDelivery.columns)
                    """,
                arguments: [owner, StoreCoding.millis(leaseUntil), StoreCoding.millis(now), limit]
            ).map(WebhookDelivery.init(row:))
        }
    }

    public func recordWebhookAttempt(_ attempt: WebhookAttempt, deliveryID: String, owner: String, next: WebhookNext) async throws -> Bool {
        try await pool.write { db in
            let nextAttemptAt: Date? = if case .retry(let at) = next { at } else { nil }
            let finishedAt: Date? = nextAttemptAt == nil ? attempt.attemptedAt : nil
            try db.run(sql: """
                    UPDATE webhook_deliveries SET
                        status = ?, attempt_count = ?, next_attempt_at = COALESCE(?, next_attempt_at), finished_at = ?,
                        lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND lease_owner = ? AND status = 'pending'
                    """,
                arguments: [
                    next.status.rawValue, attempt.number, StoreCoding.millis(nextAttemptAt), StoreCoding.millis(finishedAt), deliveryID, owner,
                ])
            guard db.changesCount == 1 else { return false }
            try db.run(sql: """
                    INSERT INTO webhook_attempts (delivery_id, number, attempted_at, status_code, latency_ms, error)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    deliveryID, attempt.number, StoreCoding.millis(attempt.attemptedAt), attempt.statusCode, attempt.latencyMilliseconds,
                    attempt.error,
                ])
            return true
        }
    }

    public func releaseWebhookLease(deliveryID: String, owner: String) async throws {
        // Synchronous on purpose, like `releaseLease`: GRDB's async access refuses to start in a cancelled task.
        try releaseWebhookLeaseNow(deliveryID: deliveryID, owner: owner)
    }

    private func releaseWebhookLeaseNow(deliveryID: String, owner: String) throws {
        try pool.write { db in
            try db.run(
                sql: "UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?",
                arguments: [deliveryID, owner])
        }
    }

    public func webhookDeliveries(jobID: String) async throws -> [WebhookDelivery] {
        try readSnapshot { db in
            var deliveries = try db.rows(
                sql: "SELECT \(WebhookDelivery.columns) FROM webhook_deliveries WHERE job_id = ? ORDER BY created_at, id", arguments: [jobID]
            ).map(WebhookDelivery.init(row:))
            for index in deliveries.indices {
                deliveries[index].attempts = try db.rows(sql: """
                        SELECT number, attempted_at, status_code, latency_ms, error FROM webhook_attempts
                        WHERE delivery_id = ? ORDER BY number
                        """,
                    arguments: [deliveries[index].id]
                ).map { row in
                    WebhookAttempt(
                        number: row["number"], attemptedAt: StoreCoding.date(row["attempted_at"] as Int64), statusCode: row["status_code"],
                        latencyMilliseconds: row["latency_ms"], error: row["error"])
                }
            }
            return deliveries
        }
    }
}

extension WebhookDelivery {
    static let columns =
        "id, job_id, account_id, url, event, status, attempt_count, next_attempt_at, lease_owner, lease_expires_at, created_at, finished_at"

    init(row: Row) throws {
        self.init(
            id: row["id"], jobID: row["job_id"], accountID: row["account_id"], url: row["url"], event: try enumValue(row["event"]),
            status: try enumValue(row["status"]), attemptCount: row["attempt_count"],
            nextAttemptAt: StoreCoding.date(row["next_attempt_at"] as Int64), leaseOwner: row["lease_owner"],
            leaseExpiresAt: StoreCoding.date(row["lease_expires_at"] as Int64?), createdAt: StoreCoding.date(row["created_at"] as Int64),
            finishedAt: StoreCoding.date(row["finished_at"] as Int64?))
    }
}
