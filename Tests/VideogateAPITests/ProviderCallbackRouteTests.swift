import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain
import VideogateProviders
import VideogateStorage

/// `POST /callbacks/{provider}/{token}`: a valid token of a processing job of that provider makes it
/// due for a poll now; everything else is 404 in our format and changes nothing.
@Suite("Provider callbacks")
struct ProviderCallbackRouteTests {
    static let signer = CallbackSigner(secret: "signing-test-secret")

    /// An API-only gateway (no workers) with Kling configured and callbacks as given.
    static func gateway(callbacks: ProviderCallbackMode = .on) async throws -> TestGateway {
        try await TestGateway.make(role: .api) { config in
            config.providerCallbacks = callbacks
            config.providers.klingAccessKey = "ak-test"
            config.providers.klingSecretKey = "sk-test"
            config.providers.klingBaseURL = "http://127.0.0.1:9"
        }
    }

    /// A live Kling job that Kling accepted, next polled in an hour.
    static func processingJob(_ gateway: TestGateway, _ client: any TestClientProtocol) async throws -> Job {
        let (_, key, _) = try await gateway.account(environment: .live)
        let reply = try await client.submit(key: key, json: #"{"prompt":"a red fox","model":"kling-v2.6-pro"}"#)
        let id = try #require(try reply.json()["request_id"] as? String, "\(reply.text)")
        let now = Date()
        let claimed = try await gateway.store.claimJobs(ClaimRequest(owner: "test", limit: 1, now: now, leaseUntil: now.addingTimeInterval(30)))
        let job = try #require(claimed.first { $0.id == id })
        let transition = try JobStateMachine.apply(
            .providerAccepted(providerJobID: "kt_1", providerRequestID: nil, nextPollAt: now.addingTimeInterval(3600)), to: job, now: now, videoTTL: 86_400)
        #expect(try await gateway.store.apply(transition, token: try #require(job.leaseToken), at: now))
        return try #require(try await gateway.store.job(id: id))
    }

    static func post(_ client: any TestClientProtocol, _ path: String, body: String = #"{"task_id":"kt_1","task_status":"succeed"}"#) async throws
        -> TestResponse
    {
        try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    @Test func aValidCallbackMakesTheJobDueNowWithoutAKey() async throws {
        let gateway = try await Self.gateway()
        try await gateway.test { client in
            let job = try await Self.processingJob(gateway, client)
            #expect(job.status == .processing && job.nextAttemptAt > Date().addingTimeInterval(3000))
            let reply = try await Self.post(client, "/callbacks/kling/\(Self.signer.token(provider: .kling, jobID: job.id))")
            #expect(reply.status == .ok)
            #expect(try reply.json()["success"] as? Bool == true)
            let after = try #require(try await gateway.store.job(id: job.id))
            #expect(after.nextAttemptAt <= Date())
            #expect(after.status == .processing)
            // A repeated callback of a job already due is still answered 200.
            #expect(try await Self.post(client, "/callbacks/kling/\(Self.signer.token(provider: .kling, jobID: job.id))").status == .ok)
        }
    }

    @Test func everyOtherCallbackIs404AndChangesNothing() async throws {
        let gateway = try await Self.gateway()
        try await gateway.test { client in
            let job = try await Self.processingJob(gateway, client)
            let token = Self.signer.token(provider: .kling, jobID: job.id)
            var tampered = Array(token)
            tampered[tampered.count - 1] = tampered.last == "A" ? "B" : "A"
            let paths = [
                "/callbacks/kling/\(String(tampered))",
                "/callbacks/kling/\(job.id)",
                "/callbacks/kling/\(Self.signer.token(provider: .kling, jobID: "req_01JD0000000000000000000000"))",
                "/callbacks/seedance/\(token)",
                "/callbacks/seedance/\(Self.signer.token(provider: .seedance, jobID: job.id))",
                "/callbacks/veo/\(Self.signer.token(provider: .veo, jobID: job.id))",
                "/callbacks/nope/\(token)",
                "/callbacks/kling/\(CallbackSigner(secret: "other").token(provider: .kling, jobID: job.id))",
                "/callbacks/kling",
                "/callbacks/kling/\(token)/extra",
            ]
            for path in paths { try await Self.post(client, path).expectError(404, "not_found") }
            for method in [HTTPRequest.Method.get, .put, .delete] {
                try await client.execute(uri: "/callbacks/kling/\(token)", method: method).expectError(404, "not_found")
            }
            let after = try #require(try await gateway.store.job(id: job.id))
            #expect(after.nextAttemptAt == job.nextAttemptAt)
        }
    }

    @Test func aPendingJobIs404() async throws {
        let gateway = try await Self.gateway()
        try await gateway.test { client in
            let (_, key, _) = try await gateway.account(environment: .live)
            let reply = try await client.submit(key: key, json: #"{"prompt":"a red fox","model":"kling-v2.6-pro"}"#)
            let id = try #require(try reply.json()["request_id"] as? String)
            try await Self.post(client, "/callbacks/kling/\(Self.signer.token(provider: .kling, jobID: id))").expectError(404, "not_found")
            #expect(try await gateway.store.job(id: id)?.status == .pending)
        }
    }

    @Test func aFinishedJobIs404AndStaysAsItWas() async throws {
        let gateway = try await Self.gateway()
        try await gateway.test { client in
            let job = try await Self.processingJob(gateway, client)
            let later = Date().addingTimeInterval(3601)
            let claimed = try await gateway.store.claimJobs(ClaimRequest(owner: "test", limit: 1, now: later, leaseUntil: later.addingTimeInterval(30)))
            let leased = try #require(claimed.first { $0.id == job.id })
            let transition = try JobStateMachine.apply(.timedOut, to: leased, now: later, videoTTL: 86_400)
            #expect(try await gateway.store.apply(transition, token: try #require(leased.leaseToken), at: later))
            let finished = try #require(try await gateway.store.job(id: job.id))
            #expect(finished.status == .error)
            try await Self.post(client, "/callbacks/kling/\(Self.signer.token(provider: .kling, jobID: job.id))").expectError(404, "not_found")
            let after = try #require(try await gateway.store.job(id: job.id))
            #expect(after.status == finished.status && after.nextAttemptAt == finished.nextAttemptAt)
        }
    }

    @Test func callbacksOffAnswer404EvenForAValidToken() async throws {
        let gateway = try await Self.gateway(callbacks: .off)
        try await gateway.test { client in
            let job = try await Self.processingJob(gateway, client)
            try await Self.post(client, "/callbacks/kling/\(Self.signer.token(provider: .kling, jobID: job.id))").expectError(404, "not_found")
        }
    }

    @Test func aLargeBodyIsNotRead() async throws {
        let gateway = try await Self.gateway()
        try await gateway.test { client in
            let job = try await Self.processingJob(gateway, client)
            let body = String(repeating: "x", count: 1 << 20)
            let reply = try await Self.post(client, "/callbacks/kling/\(Self.signer.token(provider: .kling, jobID: job.id))", body: body)
            #expect(reply.status == .ok)
        }
    }

    @Test(arguments: [
        ("auto", "https://gate.example", true), ("auto", "http://gate.example", false), ("auto", nil, false),
        ("on", "http://127.0.0.1:8080", true), ("off", "https://gate.example", false), ("ON", nil, true),
    ] as [(String, String?, Bool)])
    func theSettingFollowsThePublicURL(mode: String, publicURL: String?, enabled: Bool) throws {
        var environment = ["VIDEOGATE_PROVIDER_CALLBACKS": mode]
        if let publicURL { environment["VIDEOGATE_PUBLIC_URL"] = publicURL }
        #expect(try AppConfiguration.fromEnvironment(environment).providerCallbacksEnabled == enabled)
    }

    @Test func aBadSettingStopsTheStartNamingTheVariable() {
        #expect(AppConfiguration().providerCallbacks == .auto)
        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(["VIDEOGATE_PROVIDER_CALLBACKS": "sometimes"]) }
        #expect(error?.description.contains("VIDEOGATE_PROVIDER_CALLBACKS") == true)
    }
}
