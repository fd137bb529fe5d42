import Foundation
import HummingbirdTesting
import Testing
import VideogateAPI
import VideogateApp
import VideogateDomain
import VideogateProviders
import VideogateStorage

/// Webhooks through the whole gateway: jobs end in the sandbox, the outbox is written with the
/// final state, and the deliverer POSTs to a receiver on 127.0.0.1 (allow-listed).
@Suite("Webhooks, end to end")
struct WebhookDeliveryTests {
    func gateway(retryBase: TimeInterval = 10, role: ServerRole = .all, restarting previous: TestGateway? = nil) async throws -> TestGateway {
        try await TestGateway.make(role: role, restarting: previous) { config in
            config.outboundAllowHosts = ["127.0.0.1"]
            config.webhookRetryBase = retryBase
        }
    }

    func submit(_ client: any TestClientProtocol, key: String, prompt: String = "a red fox in snow", webhook: String) async throws -> String {
        let response = try await client.submit(key: key, json: #"{"prompt":"\#(prompt)","model":"kling-v2.5-turbo-pro","webhook_url":"\#(webhook)"}"#)
        #expect(response.status == .ok, "\(response.text)")
        return try #require(try response.json()["request_id"] as? String)
    }

    /// Waits until the job's first delivery has `status` (admin API) and returns it.
    func delivery(_ client: any TestClientProtocol, job id: String, status: String, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            let response = try await client.admin(.get, "/admin/jobs/\(id)/webhooks")
            #expect(response.status == .ok, "\(response.text)")
            let body = try response.json()
            #expect(body["success"] as? Bool == true && body["job_id"] as? String == id)
            let deliveries = body["data"] as? [[String: Any]] ?? []
            #expect(deliveries.count <= 1, "one delivery per job: \(deliveries)")
            last = deliveries.first ?? [:]
            if last["status"] as? String == status { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the delivery of \(id) did not become \(status): \(last)")
        return last
    }

    /// Checks a received request's Standard Webhooks headers by recomputing the signature with the account's secret.
    func expectSigned(_ request: WebhookReceiver.Received, secret: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let id = try #require(request.headers["webhook-id"], sourceLocation: sourceLocation)
        let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Int64($0) }, sourceLocation: sourceLocation)
        #expect(Identifier.isWellFormed(id, prefix: "msg"), sourceLocation: sourceLocation)
        #expect(abs(Double(timestamp) - Date().timeIntervalSince1970) < 120, sourceLocation: sourceLocation)
        let expected = try WebhookSigner(secret: secret).signature(id: id, timestamp: timestamp, body: request.body)
        #expect(request.headers["webhook-signature"] == expected, sourceLocation: sourceLocation)
        #expect(request.headers["content-type"] == "application/json", sourceLocation: sourceLocation)
        #expect(request.headers["user-agent"] == "videogate", sourceLocation: sourceLocation)
    }

    @Test func aCompletedJobIsPostedOnceSignedWithTheAccountsSecret() async throws {
        try await WebhookReceiver().run { receiver in
            let gateway = try await gateway()
            let (account, key, _) = try await gateway.account()
            try await gateway.test { client in
                let id = try await submit(client, key: key, webhook: receiver.url)
                let final = try await client.waitForFinal(id, key: key)
                #expect(final["status"] as? String == "completed")
                let delivery = try await delivery(client, job: id, status: "delivered")
                let received = receiver.received
                #expect(received.count == 1)
                let request = try #require(received.first)
                try expectSigned(request, secret: account.webhookSecret)
                #expect(request.headers["webhook-id"] == delivery["id"] as? String)
                // The payload is the job exactly as a poll shows it, signed video_url included.
                let polled = try await client.get("/v1/video/\(id)", key: key)
                #expect(request.body == Data(polled.body.readableBytesView), "\(String(decoding: request.body, as: UTF8.self))")
                #expect(request.json["request_id"] as? String == id && request.json["status"] as? String == "completed")
                #expect((request.json["video_url"] as? String)?.hasPrefix("http://files.test/files/\(id).mp4?expires=") == true)

                #expect(delivery["event"] as? String == "completed" && delivery["url"] as? String == receiver.url)
                #expect(delivery["attempt_count"] as? Int == 1 && delivery["next_attempt_at"] is NSNull && delivery["finished_at"] is String)
                let attempts = delivery["attempts"] as? [[String: Any]] ?? []
                #expect(attempts.count == 1)
                #expect(attempts.first?["number"] as? Int == 1 && attempts.first?["status_code"] as? Int == 200)
                #expect(attempts.first?["error"] is NSNull && (attempts.first?["latency_ms"] as? Int ?? -1) >= 0)
                #expect(attempts.first?["attempted_at"] is String)
            }
        }
    }

    @Test func aFailedJobIsPostedWithItsError() async throws {
        try await WebhookReceiver().run { receiver in
            let gateway = try await gateway()
            let (account, key, _) = try await gateway.account()
            try await gateway.test { client in
                let id = try await submit(client, key: key, prompt: "[sandbox:error] boom", webhook: receiver.url)
                #expect(try await client.waitForFinal(id, key: key)["status"] as? String == "error")
                let delivery = try await delivery(client, job: id, status: "delivered")
                #expect(delivery["event"] as? String == "error")
                let request = try #require(receiver.received.first)
                #expect(receiver.received.count == 1)
                try expectSigned(request, secret: account.webhookSecret)
                #expect(request.json["request_id"] as? String == id && request.json["status"] as? String == "error")
                #expect((request.json["error"] as? [String: Any])?["code"] as? String == "provider_error")
                #expect(request.json["credits_used"] as? Int == 0)
            }
        }
    }

    @Test func aRetryAfterA500KeepsTheWebhookIDAndTheBody() async throws {
        try await WebhookReceiver().run { receiver in
            receiver.script([500])
            let gateway = try await gateway(retryBase: 0.3)
            let (account, key, _) = try await gateway.account()
            try await gateway.test { client in
                let id = try await submit(client, key: key, webhook: receiver.url)
                let delivery = try await delivery(client, job: id, status: "delivered")
                let received = receiver.received
                #expect(received.count == 2)
                for request in received { try expectSigned(request, secret: account.webhookSecret) }
                #expect(Set(received.map { $0.headers["webhook-id"] ?? "" }) == [delivery["id"] as? String ?? "?"])
                #expect(received.first?.body == received.last?.body)

                #expect(delivery["attempt_count"] as? Int == 2)
                let attempts = delivery["attempts"] as? [[String: Any]] ?? []
                #expect(attempts.map { $0["number"] as? Int } == [1, 2])
                #expect(attempts.map { $0["status_code"] as? Int } == [500, 200])
                #expect(attempts.first?["error"] as? String == "the receiver answered 500")
                #expect(attempts.last?["error"] is NSNull)
            }
        }
    }

    @Test func privateAddressesAreRefusedAndNeverDelivered() async throws {
        try await WebhookReceiver().run { receiver in
            let gateway = try await gateway()
            let (account, key, _) = try await gateway.account()
            // Stored past the submit checks (as a URL whose name resolved to a private address
            // would be): the deliverer refuses it without connecting, and does not retry.
            let stored = try await Self.finishInStore(
                gateway.store, key: key, webhookURL: "https://169.254.169.254/hook", event: { _ in .failed(JobFailure(.providerError, "x")) })
            try await gateway.test { client in
                let refused = [
                    "https://10.0.0.5/hook", "https://192.168.1.20/hook", "https://[::1]/hook", "https://127.0.0.2:\(receiver.port)/hook",
                    "http://localhost:\(receiver.port)/hook", "https://169.254.169.254/latest/meta-data",
                ]
                for url in refused {
                    let response = try await client.submit(key: key, json: #"{"prompt":"x","model":"kling-v2.5-turbo-pro","webhook_url":"\#(url)"}"#)
                    try response.expectError(400, "invalid_webhook_url", param: "webhook_url")
                }
                let delivery = try await delivery(client, job: stored, status: "failed")
                let attempts = delivery["attempts"] as? [[String: Any]] ?? []
                #expect(attempts.count == 1 && attempts.first?["status_code"] is NSNull)
                #expect((attempts.first?["error"] as? String)?.contains("link-local") == true, "\(attempts)")
                #expect(receiver.received.isEmpty)
                #expect(try await gateway.store.balances(accountID: account.id)[.test]?.held == 0)
            }
        }
    }

    /// The process died right after the job's final state committed: a gateway started later on
    /// the same data directory finds the delivery in the outbox and makes it.
    @Test func aDeliveryCommittedBeforeACrashIsMadeByTheNextProcess() async throws {
        try await WebhookReceiver().run { receiver in
            let crashed = try await gateway(role: .api)
            let (account, key, _) = try await crashed.account()
            let id = try await Self.finishInStore(crashed.store, key: key, webhookURL: receiver.url, event: { .succeeded(Self.result(of: $0)) })
            #expect(try await crashed.store.webhookDeliveries(jobID: id).map(\.status) == [.pending])
            try await crashed.store.close()

            let restarted = try await gateway(restarting: crashed)
            try await restarted.test { client in
                let received = try await receiver.wait(for: 1)
                let request = try #require(received.first)
                try expectSigned(request, secret: account.webhookSecret)
                #expect(request.json["request_id"] as? String == id && request.json["status"] as? String == "completed")
                #expect((request.json["video_url"] as? String)?.hasPrefix("http://files.test/files/\(id).mp4?expires=") == true)
                let delivery = try await delivery(client, job: id, status: "delivered")
                #expect(delivery["attempt_count"] as? Int == 1 && receiver.received.count == 1)
            }
        }
    }

    @Test func theAdminListNeedsTheTokenAndAKnownJob() async throws {
        let gateway = try await gateway(role: .api)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            try await client.admin(.get, "/admin/jobs/req_01JD000000000000000000000/webhooks").expectError(404, "not_found")
            let id = try await submit(client, key: key, webhook: "http://127.0.0.1:9/hook")
            try await client.admin(.get, "/admin/jobs/\(id)/webhooks", token: "wrong").expectError(401, "unauthorized")
            let body = try await client.admin(.get, "/admin/jobs/\(id)/webhooks").json()
            #expect(body["success"] as? Bool == true && (body["data"] as? [Any])?.isEmpty == true)
        }
    }

    static func result(of id: String) -> JobResult {
        JobResult(videoKey: "\(id).mp4", thumbnailKey: nil, videoBytes: 1, durationMilliseconds: 5000, width: 1280, height: 720)
    }

    /// Submits a job straight to the store (past the submit checks) and ends it with `event`
    /// through `apply`, as a worker does, without any deliverer running. Returns the job id.
    static func finishInStore(
        _ store: any GatewayStore, key secret: String, webhookURL: String, event: (_ jobID: String) -> JobEvent
    ) async throws -> String {
        let now = Date()
        let caller = try #require(try await store.authenticate(keyHash: SecretHash.hex(secret), at: now))
        let model = try #require(Catalog.standard.model("kling-v2.5-turbo-pro"))
        let submission = Submission(
            model: model, mode: model.mode, prompt: "stored", image: nil, aspectRatio: .landscape, duration: model.defaultDuration,
            webhookURL: webhookURL, metadata: [:])
        let job = Job(
            id: Identifier.make("req", at: now), accountID: caller.account.id, keyID: caller.key.id, environment: caller.key.environment,
            model: model, submission: submission, imageKey: nil, createdAt: now, deadlineAt: now.addingTimeInterval(600))
        let outcome = try await store.submit(
            SubmitCommand(key: caller.key, account: caller.account, idempotencyKey: nil, requestHash: "h", validation: .success(job), now: now))
        guard case .created = outcome else {
            Issue.record("the job was not created: \(outcome)")
            return job.id
        }
        let claimed = try await store.claimJobs(owner: "crashed-worker", limit: 10, now: now, leaseUntil: now.addingTimeInterval(60))
        let mine = try #require(claimed.first { $0.id == job.id })
        let transition = try JobStateMachine.apply(event(job.id), to: mine, now: now, videoTTL: 86_400)
        #expect(try await store.apply(transition, token: try #require(mine.leaseToken), at: now))
        return job.id
    }
}
