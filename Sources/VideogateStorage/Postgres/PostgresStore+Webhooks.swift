import Foundation
import PostgresNIO
import VideogateDomain

extension PostgresStore {
    /// Writes the outbox row of a job that just reached its final state, when it has a
    /// `webhook_url`. Runs inside `apply`'s transaction, so the delivery exists exactly when the
    /// final state does; the unique `job_id` makes "one delivery per job" a database rule.
    func enqueueWebhook(_ db: PostgresSession, jobID: String, event: JobStatus, at: Date) async throws {
        try await db.run("""
            INSERT INTO webhook_deliveries (id, job_id, account_id, url, event, status, attempt_count, next_attempt_at, created_at)
            SELECT \(Identifier.make("msg", at: at)), id, account_id, webhook_url, \(event.rawValue), 'pending', 0,
                   \(StoreCoding.millis(at)), \(StoreCoding.millis(at))
            FROM jobs WHERE id = \(jobID) AND webhook_url IS NOT NULL
            """)
    }

    /// One statement, like `claimJobs`: due deliveries are locked with `FOR UPDATE SKIP LOCKED`, so
    /// concurrent deliverers never get the same one.
    public func claimWebhookDeliveries(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [WebhookDelivery] {
        try await withSession { db in
            try await db.rows("""
                WITH due AS (
                    SELECT id FROM webhook_deliveries
                    WHERE status = 'pending' AND next_attempt_at <= \(StoreCoding.millis(now))
                      AND (lease_expires_at IS NULL OR lease_expires_at <= \(StoreCoding.millis(now)))
                    ORDER BY next_attempt_at LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE webhook_deliveries SET lease_owner = \(owner), lease_expires_at = \(StoreCoding.millis(leaseUntil))
                WHERE id IN (SELECT id FROM due)
                RETURNING \(unescaped: WebhookDelivery.columns)
                """
            ).map(WebhookDelivery.init(row:))
        }
    }

    public func recordWebhookAttempt(_ attempt: WebhookAttempt, deliveryID: String, owner: String, next: WebhookNext) async throws -> Bool {
        try await transaction { db in
            let nextAttemptAt: Date? = if case .retry(let at) = next { at } else { nil }
            let finishedAt: Date? = nextAttemptAt == nil ? attempt.attemptedAt : nil
            guard
                try await db.row("""
                    UPDATE webhook_deliveries SET
                        status = \(next.status.rawValue), attempt_count = \(attempt.number),
                        next_attempt_at = COALESCE(\(StoreCoding.millis(nextAttemptAt))::bigint, next_attempt_at),
                        finished_at = \(StoreCoding.millis(finishedAt)), lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = \(deliveryID) AND lease_owner = \(owner) AND status = 'pending'
                    RETURNING id
                    """) != nil
            else { return false }
            try await db.run("""
                INSERT INTO webhook_attempts (delivery_id, number, attempted_at, status_code, latency_ms, error)
                VALUES (\(deliveryID), \(attempt.number), \(StoreCoding.millis(attempt.attemptedAt)), \(attempt.statusCode),
                        \(attempt.latencyMilliseconds), \(attempt.error))
                """)
            return true
        }
    }

    public func releaseWebhookLease(deliveryID: String, owner: String) async throws {
        try await uncancelled {
            try await self.withSession { db in
                try await db.run("""
                    UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL WHERE id = \(deliveryID) AND lease_owner = \(owner)
                    """)
            }
        }
    }

    public func webhookDeliveries(jobID: String) async throws -> [WebhookDelivery] {
        // Deliveries and their attempts in one statement, so one snapshot.
        try await withSession { db in
            var deliveries: [WebhookDelivery] = []
            for raw in try await db.rows("""
                SELECT d.id, d.job_id, d.account_id, d.url, d.event, d.status, d.attempt_count, d.next_attempt_at, d.lease_owner,
                       d.lease_expires_at, d.created_at, d.finished_at,
                       a.number, a.attempted_at, a.status_code, a.latency_ms, a.error
                FROM webhook_deliveries d LEFT JOIN webhook_attempts a ON a.delivery_id = d.id
                WHERE d.job_id = \(jobID)
                ORDER BY d.created_at, d.id, a.number
                """)
            {
                if deliveries.last?.id != (try raw.makeRandomAccess().value("id", as: String.self)) {
                    deliveries.append(try WebhookDelivery(row: raw))
                }
                let row = raw.makeRandomAccess()
                guard let number = try row.value("number", as: Int?.self) else { continue }
                deliveries[deliveries.count - 1].attempts.append(
                    WebhookAttempt(
                        number: number, attemptedAt: try row.date("attempted_at"), statusCode: try row.value("status_code"),
                        latencyMilliseconds: try row.value("latency_ms"), error: try row.value("error")))
            }
            return deliveries
        }
    }
}
