import Foundation
import Logging
import ServiceLifecycle
import Tracing
import VideogateDomain
import VideogateProviders
import VideogateStorage

/// Delivers the webhook outbox: claims due deliveries under a lease (so two processes never make
/// the same attempt at once, and a dead process's deliveries are taken up once their lease ran
/// out), POSTs each job's final state signed with its account's current secret, and records the
/// attempt with what follows it (`WebhookRetrySchedule`). At most `concurrency` attempts run at
/// once. On graceful shutdown it stops claiming, lets running attempts finish for up to
/// `shutdownGrace`, then cancels the rest and gives their leases back.
public struct WebhookDeliverer: Service {
    /// Settings of the deliverer.
    public struct Configuration: Sendable {
        public var retry: WebhookRetrySchedule
        /// Attempts made at once.
        public var concurrency: Int
        /// Longest time one POST may take (the outbound client's bound).
        public var timeout: TimeInterval
        /// How long a claim lasts; longer than an attempt can take, so it is never renewed.
        public var leaseDuration: TimeInterval
        /// Pause between claims when nothing was due.
        public var idleInterval: TimeInterval
        /// This process's name on the leases it takes.
        public var ownerID: String

        public init(
            retryBase: TimeInterval, concurrency: Int = 8, timeout: TimeInterval = 15, idleInterval: TimeInterval = 0.5,
            ownerID: String = WorkerConfiguration.defaultOwnerID()
        ) {
            self.retry = WebhookRetrySchedule(base: retryBase)
            self.concurrency = max(1, concurrency)
            self.timeout = timeout
            self.leaseDuration = 2 * timeout + 30
            self.idleInterval = idleInterval
            self.ownerID = ownerID
        }
    }

    /// Makes the body of a delivery: the job object as `GET /v1/video/{id}` returns it.
    public typealias Renderer = @Sendable (Job) async throws -> Data

    let store: any GatewayStore
    let client: OutboundClient
    let render: Renderer
    let clock: any WallClock
    let configuration: Configuration
    let logger: Logger
    let shutdownGrace: Duration

    /// - Parameter client: the outbound client deliveries go through; its `timeout` bounds each attempt.
    public init(
        store: any GatewayStore, client: OutboundClient, render: @escaping Renderer, clock: any WallClock, configuration: Configuration,
        logger: Logger, shutdownGrace: Duration = .seconds(10)
    ) {
        self.store = store
        self.client = client
        self.render = render
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.shutdownGrace = shutdownGrace
    }

    public func run() async throws {
        let running = RunningCount()
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let free = configuration.concurrency - running.value
                var claimed: [WebhookDelivery] = []
                if free > 0 {
                    do {
                        let now = clock.now()
                        claimed = try await store.claimWebhookDeliveries(
                            owner: configuration.ownerID, limit: free, now: now, leaseUntil: now.addingTimeInterval(configuration.leaseDuration))
                    } catch {
                        logger.error("claiming webhook deliveries failed", metadata: ["error": .string(String(reflecting: error))])
                    }
                }
                for delivery in claimed {
                    running.add(1)
                    group.addTask {
                        await self.deliver(delivery)
                        running.add(-1)
                    }
                }
                if claimed.count < free || free == 0 {
                    try? await cancelWhenGracefulShutdown {
                        try await Task.sleep(for: .milliseconds(Int(configuration.idleInterval * 1000)))
                    }
                }
            }
            let deadline = ContinuousClock.now + shutdownGrace
            while running.value > 0 && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            group.cancelAll()
        }
    }

    /// Makes one attempt of a delivery this process holds the lease of, and records it.
    func deliver(_ delivery: WebhookDelivery) async {
        var logger = logger
        logger[metadataKey: "webhook_id"] = .string(delivery.id)
        logger[metadataKey: "job_id"] = .string(delivery.jobID)
        let number = delivery.attemptCount + 1
        let attemptedAt = clock.now()
        let started = ContinuousClock.now
        let outcome = await attempt(delivery, number: number)
        if Task.isCancelled {
            // Shutdown cut the attempt short: hand the delivery back instead of counting it.
            try? await store.releaseWebhookLease(deliveryID: delivery.id, owner: configuration.ownerID)
            return
        }
        let elapsed = ContinuousClock.now - started
        let latency = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        let attempt = WebhookAttempt(
            number: number, attemptedAt: attemptedAt, statusCode: outcome.statusCode, latencyMilliseconds: latency, error: outcome.errorText)
        let next = configuration.retry.next(after: outcome, attempt: number, now: clock.now(), jitter: .random(in: 0...1))
        do {
            guard try await store.recordWebhookAttempt(attempt, deliveryID: delivery.id, owner: configuration.ownerID, next: next) else {
                logger.warning("webhook lease lost; the attempt is not recorded")
                return
            }
        } catch {
            logger.error("recording a webhook attempt failed", metadata: ["error": .string(String(reflecting: error))])
            return
        }
        let metadata: Logger.Metadata = ["attempt": .stringConvertible(number), "outcome": .string(attempt.error ?? "delivered")]
        switch next {
        case .delivered: logger.debug("webhook delivered", metadata: metadata)
        case .retry(let at): logger.info("webhook attempt failed; retrying", metadata: metadata.merging(["retry_at": .string("\(at)")]) { $1 })
        case .failed: logger.warning("webhook delivery failed for good", metadata: metadata)
        }
    }

    /// Renders, signs and POSTs the delivery once.
    private func attempt(_ delivery: WebhookDelivery, number: Int) async -> WebhookAttemptOutcome {
        let body: Data
        let signer: WebhookSigner
        let job: Job
        do {
            guard let stored = try await store.job(id: delivery.jobID), let account = try await store.account(id: delivery.accountID) else {
                return .unreachable("the job or its account no longer exists")
            }
            job = stored
            signer = try WebhookSigner(secret: account.webhookSecret)
            body = try await render(job)
        } catch {
            return .unreachable("the request could not be made: \(error)")
        }
        let timestamp = Int64(clock.now().timeIntervalSince1970.rounded(.down))
        // One span per attempt, in the trace of the submission that created the job.
        let attributes: [String: SpanAttribute] = [
            "videogate.webhook_id": .string(delivery.id), "videogate.job_id": .string(job.id), "videogate.attempt": .int64(Int64(number)),
            "http.request.method": "POST", "server.address": .string(URLComponents(string: delivery.url)?.host ?? ""),
        ]
        return await Traces.span("webhook POST", context: Traces.context(parent: job.traceParent), ofKind: .client, attributes: attributes) { span in
            var headers = signer.headers(id: delivery.id, timestamp: timestamp, body: body)
            Traces.inject(into: &headers)
            let outcome: WebhookAttemptOutcome
            do throws(OutboundClient.Failure) {
                outcome = .answered(status: try await client.post(delivery.url, headers: headers, body: body))
            } catch {
                switch error {
                case .refused(let reason): outcome = .refused(reason)
                case .network(let reason): outcome = .unreachable(reason)
                case .status(let status): outcome = .answered(status: status)
                case .tooLarge: outcome = .unreachable("the answer was too large")
                }
            }
            if let status = outcome.statusCode { span.attributes["http.response.status_code"] = status }
            if !outcome.isSuccess { span.setStatus(SpanStatus(code: .error)) }
            return outcome
        }
    }
}
