import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateAPI
import VideogateApp
import VideogateDomain
import VideogateStorage

/// `POST /v1/video/{id}/cancel` and `POST /v1/videos/{id}/cancel`. The gateways run the API only,
/// so a submitted job stays pending until the test hands it to a "worker" through the store.
@Suite("Cancel")
struct CancelTests {
    static let body = #"{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro"}"#

    static func submitted(_ client: any TestClientProtocol, key: String, json: String = body) async throws -> String {
        let response = try await client.submit(key: key, json: json)
        #expect(response.status == .ok, "\(response.text)")
        return try #require(try response.json()["request_id"] as? String)
    }

    static func cancel(_ client: any TestClientProtocol, _ path: String, key: String?, body: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let key { headers[.authorization] = "Bearer \(key)" }
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: .post, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    static func testBalance(_ client: any TestClientProtocol, key: String) async throws -> [String: Int] {
        let account = try await client.get("/v1/account", key: key).json()["account"] as? [String: Any]
        return ((account?["balances"] as? [String: Any])?["test"] as? [String: Int]) ?? [:]
    }

    @Test func aPendingJobIsCancelledItsHoldReleasedAndARepeatAnswersTheSame() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let id = try await Self.submitted(client, key: key)
            #expect(try await Self.testBalance(client, key: key) == ["available": 8500, "held": 1500])
            let remaining = try await client.get("/v1/account", key: key).headers[.init("X-RateLimit-Remaining")!]
            // A body is not read: one sent changes nothing.
            let first = try await Self.cancel(client, "/v1/video/\(id)/cancel", key: key, body: #"{"reason":"ignored"}"#)
            #expect(first.status == .ok, "\(first.text)")
            let job = try first.json()
            #expect(job["success"] as? Bool == true && job["request_id"] as? String == id && job["status"] as? String == "error")
            #expect((job["error"] as? [String: Any])?["code"] as? String == "cancelled")
            #expect(job["credits_used"] as? Int == 0 && job["completed_at"] is String && job["credits_reserved"] as? Int == 1500)
            // Rate-limit figures shown, nothing counted.
            #expect(first.headers[.init("X-RateLimit-Remaining")!] == remaining && first.headers[.init("X-RateLimit-Limit")!] != nil)
            #expect(try await Self.testBalance(client, key: key) == ["available": 10_000, "held": 0])

            let again = try await Self.cancel(client, "/v1/video/\(id)/cancel", key: key)
            #expect(again.status == .ok && again.text == first.text)
            let polled = try await client.get("/v1/video/\(id)", key: key)
            #expect(polled.text == first.text)
            #expect(try await Self.testBalance(client, key: key) == ["available": 10_000, "held": 0])
            #expect(try await client.get("/v1/account", key: key).headers[.init("X-RateLimit-Remaining")!] == remaining)
            let accountID = try #require(try await gateway.store.job(id: id)).accountID
            let ledger = try await gateway.store.ledger(accountID: accountID, limit: 10, before: nil)
            #expect(ledger.filter { $0.jobID == id }.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.hold, .release])
        }
    }

    @Test func anUploadedStartImageIsDeletedWithTheCancel() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let body = #"{"prompt":"x","model":"kling-v2.5-turbo-pro-i2v","image":"\#(startPNGBase64)"}"#
            let id = try await Self.submitted(client, key: key, json: body)
            let imageKey = try #require(try await gateway.store.job(id: id)?.imageKey)
            #expect(try await gateway.gateway.services.blobs.head(key: imageKey) != nil)
            #expect(try await Self.cancel(client, "/v1/video/\(id)/cancel", key: key).status == .ok)
            #expect(try await gateway.gateway.services.blobs.head(key: imageKey) == nil)
        }
    }

    @Test func jobsOfOtherAccountsTheOtherEnvironmentOrNoneAre404() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account()
        let (_, stranger, _) = try await gateway.account()
        let (_, live) = try await gateway.actions.createKey(accountID: account.id, environment: .live, name: nil)
        try await gateway.test { client in
            let id = try await Self.submitted(client, key: key)
            for path in ["/v1/video/\(id)/cancel", "/v1/video/req_01JD000000000000000000000/cancel", "/v1/video/garbage/cancel"] {
                try await Self.cancel(client, path, key: stranger).expectError(404, "not_found")
            }
            try await Self.cancel(client, "/v1/video/\(id)/cancel", key: live).expectError(404, "not_found")
            try await Self.cancel(client, "/v1/video/\(id)/cancel", key: nil).expectError(401, "invalid_api_key")
            try await Self.cancel(client, "/v1/videos/\(id)/cancel", key: stranger).expectOpenAIError(404, "not_found")
            try await Self.cancel(client, "/v1/videos/\(id)/cancel", key: live).expectOpenAIError(404, "not_found")
            let get = try await client.get("/v1/video/\(id)/cancel", key: key)
            try get.expectError(405, "method_not_allowed")
            #expect(try await client.get("/v1/video/\(id)", key: key).json()["status"] as? String == "pending")
        }
    }

    /// Leased to a worker (being handed to its provider), processing, completed, failed: 409, and
    /// nothing changes, on both surfaces.
    @Test func startedAndFinishedJobsAre409AndStayAsTheyWere() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            var ids: [String] = []
            for _ in 0..<4 { ids.append(try await Self.submitted(client, key: key)) }
            let store = gateway.store
            let now = Date()
            let claimed = try await store.claimJobs(owner: "worker", limit: 4, now: now, leaseUntil: now.addingTimeInterval(600))
            let byID = Dictionary(uniqueKeysWithValues: claimed.map { ($0.id, $0) })
            let accepted = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: now.addingTimeInterval(600)),
                to: try #require(byID[ids[1]]), now: now, videoTTL: 60)
            #expect(try await store.apply(accepted, token: try #require(accepted.job.leaseToken), at: now))
            let result = JobResult(videoKey: "\(ids[2]).mp4", thumbnailKey: nil, videoBytes: 1, durationMilliseconds: 5000, width: 1280, height: 720)
            let done = try JobStateMachine.apply(.succeeded(result), to: try #require(byID[ids[2]]), now: now, videoTTL: 600)
            #expect(try await store.apply(done, token: try #require(done.job.leaseToken), at: now))
            let failed = try JobStateMachine.apply(.failed(JobFailure(.providerError, "no")), to: try #require(byID[ids[3]]), now: now, videoTTL: 60)
            #expect(try await store.apply(failed, token: try #require(failed.job.leaseToken), at: now))

            let balance = try await Self.testBalance(client, key: key)
            let ledger = try await store.ledger(accountID: account.id, limit: 50, before: nil)
            for id in ids {
                let before = try await store.job(id: id)
                try await Self.cancel(client, "/v1/video/\(id)/cancel", key: key).expectError(409, "not_cancellable")
                let openAI = try await Self.cancel(client, "/v1/videos/\(id)/cancel", key: key)
                try openAI.expectOpenAIError(409, "not_cancellable")
                #expect(openAI.headers[.init("x-should-retry")!] == "false" && openAI.headers[.init("X-RateLimit-Remaining")!] != nil)
                #expect(try await store.job(id: id) == before)
            }
            #expect(try await Self.testBalance(client, key: key) == balance)
            #expect(try await store.ledger(accountID: account.id, limit: 50, before: nil) == ledger)
        }
    }

    @Test func theOpenAISurfaceAnswersAFailedVideoWithCodeCancelled() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let id = try await client.createdVideoID(key: key)
            // As the SDK's generic post sends it: a JSON content type and no fields.
            let first = try await Self.cancel(client, "/v1/videos/\(id)/cancel", key: key, body: "{}")
            #expect(first.status == .ok, "\(first.text)")
            let video = try first.json()
            #expect(video["object"] as? String == "video" && video["id"] as? String == id && video["status"] as? String == "failed")
            #expect((video["error"] as? [String: Any])?["code"] as? String == "cancelled" && video["completed_at"] is Int)
            #expect(try await Self.cancel(client, "/v1/videos/\(id)/cancel", key: key).text == first.text)
            let native = try await client.get("/v1/video/\(id)", key: key).json()
            #expect((native["error"] as? [String: Any])?["code"] as? String == "cancelled")
            #expect(try await Self.testBalance(client, key: key) == ["available": 10_000, "held": 0])
            // A failed video can be deleted; after that it is gone from this surface only.
            #expect(try await client.deleteVideo(id, key: key).status == .ok)
            try await Self.cancel(client, "/v1/videos/\(id)/cancel", key: key).expectOpenAIError(404, "not_found")
        }
    }

    /// The webhook of a cancelled job is the job as a poll shows it, sent by the deliverer of a
    /// gateway started afterwards on the same data, whose worker never claims the job.
    @Test func theWebhookFiresWithTheCancelledJobAndNoWorkerTakesIt() async throws {
        try await WebhookReceiver().run { receiver in
            let api = try await TestGateway.make { $0.outboundAllowHosts = ["127.0.0.1"] }
            let (account, key, _) = try await api.account(credits: 10_000)
            let json = #"{"prompt":"a red fox","model":"kling-v2.5-turbo-pro","webhook_url":"\#(receiver.url)"}"#
            let (id, cancelled) = try await api.gateway.application.test(.router) { client in
                let id = try await Self.submitted(client, key: key, json: json)
                let response = try await Self.cancel(client, "/v1/video/\(id)/cancel", key: key)
                #expect(response.status == .ok, "\(response.text)")
                return (id, response.text)
            }
            try await api.store.close()

            let worker = try await TestGateway.make(role: .all, restarting: api) { $0.outboundAllowHosts = ["127.0.0.1"] }
            try await worker.test { client in
                let request = try #require(try await receiver.wait(for: 1).first)
                #expect(String(decoding: request.body, as: UTF8.self) == cancelled)
                #expect(request.json["status"] as? String == "error")
                #expect((request.json["error"] as? [String: Any])?["code"] as? String == "cancelled")
                let delivery = try #require(try await worker.store.webhookDeliveries(jobID: id).first)
                #expect(delivery.event == .error)
                let job = try #require(try await worker.store.job(id: id))
                #expect(job.attempts == 0 && job.providerJobID == nil && job.leaseOwner == nil)
                #expect(try await worker.store.balances(accountID: account.id)[.test] == Balance(total: 10_000, held: 0))
                #expect(try await client.get("/v1/video/\(id)", key: key).text == cancelled)
            }
        }
    }
}
