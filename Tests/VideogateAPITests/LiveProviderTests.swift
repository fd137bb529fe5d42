import Foundation
import Hummingbird
import HummingbirdTesting
import ProviderFakes
import Testing
import VideogateApp
import VideogateDomain
import VideogateProviders

/// One real provider as the gateway sees it in these tests: its fake, and how the gateway is
/// pointed at it.
struct LiveCase: Sendable, CustomTestStringConvertible {
    let name: String
    let routes: @Sendable (Router<BasicRequestContext>, FakeUpstream) -> Void
    /// Sets credentials and the base URL (the fake's origin is passed in).
    let configure: @Sendable (inout ProviderSettings, String) -> Void
    let textModel: String
    /// The catalog's image-to-video model of the provider (Sora has none).
    let imageModel: String?
    /// Path prefix of the fake's create call.
    let createPath: String

    var testDescription: String { name }

    static let kling = LiveCase(
        name: "kling", routes: FakeKling().routes,
        configure: { settings, origin in
            settings.klingAccessKey = "ak-test"
            settings.klingSecretKey = "sk-test"
            settings.klingBaseURL = origin
        },
        textModel: "kling-v2.5-turbo-pro", imageModel: "kling-v2.5-turbo-pro-i2v", createPath: "/v1/videos/")

    static let veo = LiveCase(
        name: "veo", routes: FakeVeo().routes,
        configure: { settings, origin in
            settings.geminiKey = "gemini-test"
            settings.geminiBaseURL = origin + "/v1beta"
        },
        textModel: "veo3.1", imageModel: "veo3-fast-i2v", createPath: "/v1beta/models/")

    static let sora = LiveCase(
        name: "sora", routes: FakeSora().routes,
        configure: { settings, origin in
            settings.openAIKey = "openai-test"
            settings.openAIBaseURL = origin + "/v1"
        },
        textModel: "sora-2", imageModel: nil, createPath: "/v1/videos")

    static let wan = LiveCase(
        name: "wan", routes: FakeWan().routes,
        configure: { settings, origin in
            settings.dashscopeKey = "dashscope-test"
            settings.dashscopeBaseURL = origin + "/api/v1"
        },
        textModel: "wan-2.5", imageModel: "wan-2.5-i2v", createPath: "/api/v1/services/")

    static let seedance = LiveCase(
        name: "seedance", routes: FakeSeedance().routes,
        configure: { settings, origin in
            settings.arkKey = "ark-test"
            settings.arkBaseURL = origin + "/api/v3"
        },
        textModel: "seedance-v1.5-pro-t2v", imageModel: "seedance-v1.5-pro-i2v", createPath: "/api/v3/contents/")

    static let all: [LiveCase] = [.veo, .sora, .kling, .wan, .seedance]
}

/// Live keys through the whole gateway (API, queue, workers, adapters, storage, ledger) against
/// each provider's fake on 127.0.0.1.
@Suite("Live providers, end to end against fakes")
struct LiveProviderTests {
    /// A gateway running workers, with `live` configured against `fake`, fast polls and short timeouts.
    func gateway(_ live: LiveCase, _ fake: FakeUpstream, jobTimeout: TimeInterval = 60) async throws -> TestGateway {
        try await TestGateway.make(role: .all, jobTimeout: jobTimeout) { config in
            live.configure(&config.providers, fake.origin)
            config.providers.pollSchedule = PollSchedule(firstPoll: 0.05, interval: 0.05, maxInterval: 0.2)
            config.outboundAllowHosts = ["127.0.0.1"]
        }
    }

    func run(_ live: LiveCase, jobTimeout: TimeInterval = 60, script: @Sendable (FakeUpstream) -> Void = { _ in },
             _ body: @escaping @Sendable (TestGateway, FakeUpstream, any TestClientProtocol, (account: Account, key: String)) async throws -> Void) async throws {
        let fake = FakeUpstream(video: try FakeVideo.mp4())
        try await fake.run(routes: live.routes) { fake in
            script(fake)
            let gateway = try await gateway(live, fake, jobTimeout: jobTimeout)
            let (account, key, _) = try await gateway.account(credits: 20_000, environment: .live)
            try await gateway.test { client in try await body(gateway, fake, client, (account, key)) }
        }
    }

    func submit(_ client: any TestClientProtocol, key: String, model: String, image: Bool = false) async throws -> String {
        let imageField = image ? #","image":"\#(startPNGBase64)""# : ""
        let response = try await client.submit(key: key, json: #"{"prompt":"a red fox in snow","model":"\#(model)","aspect_ratio":"9:16"\#(imageField)}"#)
        #expect(response.status == .ok, "\(response.text)")
        return try #require(try response.json()["request_id"] as? String)
    }

    /// The balance is back to `20_000 - charged` with nothing held, and the job has one hold and
    /// one capture (charged) or one release.
    func expectSettled(_ gateway: TestGateway, _ account: Account, job: String, charged: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let balance = try await gateway.store.balances(accountID: account.id)[.live]
        #expect(balance == Balance(total: 20_000 - charged, held: 0), sourceLocation: sourceLocation)
        let kinds = try await gateway.store.ledger(accountID: account.id, limit: 50, before: nil).filter { $0.jobID == job }.map(\.kind)
        #expect(kinds.sorted { $0.rawValue < $1.rawValue } == (charged > 0 ? [.capture, .hold] : [.hold, .release]), sourceLocation: sourceLocation)
    }

    @Test(arguments: LiveCase.all)
    func textToVideoCompletesAndServesTheProvidersBytes(_ live: LiveCase) async throws {
        try await run(live) { gateway, fake, client, owner in
            let id = try await submit(client, key: owner.key, model: live.textModel)
            let final = try await client.waitForFinal(id, key: owner.key)
            #expect(final["status"] as? String == "completed", "\(final)")
            let content = try await client.get("/v1/video/\(id)/content", key: owner.key)
            #expect(Data(content.body.readableBytesView) == fake.video)
            #expect(final["thumbnail_url"] is String)
            let price = try #require(final["credits_used"] as? Int)
            #expect(price > 0)
            try await expectSettled(gateway, owner.account, job: id, charged: price)
            #expect(fake.requests(to: live.createPath, method: "POST").count == 1)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
            let admin = try await client.admin(.get, "/admin/jobs?account=\(owner.account.id)").json()
            let job = try #require((admin["data"] as? [[String: Any]])?.first)
            #expect(job["provider_job_id"] as? String == fake.tasks.first?.id)
            #expect(job["provider"] as? String == live.name)
        }
    }

    @Test(arguments: LiveCase.all.filter { $0.imageModel != nil })
    func imageToVideoCompletes(_ live: LiveCase) async throws {
        try await run(live) { gateway, fake, client, owner in
            let id = try await submit(client, key: owner.key, model: live.imageModel!, image: true)
            let final = try await client.waitForFinal(id, key: owner.key)
            #expect(final["status"] as? String == "completed", "\(final)")
            #expect(Data(try await client.get("/v1/video/\(id)/content", key: owner.key).body.readableBytesView) == fake.video)
            try await expectSettled(gateway, owner.account, job: id, charged: try #require(final["credits_used"] as? Int))
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    enum Trouble: String, CaseIterable, Sendable {
        case upstreamFailure, policyInFinalState, policyAtSubmit, throttledThenAccepted, serverErrorThenAccepted, malformedStatus

        var expected: String? {
            switch self {
            case .upstreamFailure: "provider_error"
            case .policyInFinalState, .policyAtSubmit: "content_policy_violation"
            case .throttledThenAccepted, .serverErrorThenAccepted, .malformedStatus: nil
            }
        }

        func script(_ fake: FakeUpstream) {
            switch self {
            case .upstreamFailure: fake.finish(with: .fail)
            case .policyInFinalState: fake.finish(with: .policy)
            case .policyAtSubmit: fake.refuseCreatesForPolicy()
            case .throttledThenAccepted: fake.inject([.status(429, retryAfter: 1)], on: .create)
            case .serverErrorThenAccepted: fake.inject([.status(500)], on: .create)
            case .malformedStatus: fake.inject([.malformed], on: .status)
            }
        }
    }

    @Test(arguments: LiveCase.all, Trouble.allCases)
    func upstreamTroubleEndsRightAndSettlesTheLedger(_ live: LiveCase, _ trouble: Trouble) async throws {
        try await run(live, script: trouble.script) { gateway, fake, client, owner in
            let id = try await submit(client, key: owner.key, model: live.textModel)
            let final = try await client.waitForFinal(id, key: owner.key)
            if let code = trouble.expected {
                #expect(final["status"] as? String == "error", "\(final)")
                #expect((final["error"] as? [String: Any])?["code"] as? String == code, "\(final)")
                #expect((final["error"] as? [String: Any])?["message"] as? String != nil)
                #expect(final["credits_used"] as? Int == 0)
                try await expectSettled(gateway, owner.account, job: id, charged: 0)
            } else {
                #expect(final["status"] as? String == "completed", "\(final)")
                try await expectSettled(gateway, owner.account, job: id, charged: try #require(final["credits_used"] as? Int))
                // A retried submission never creates a second upstream job.
                #expect(fake.tasks.count == 1)
            }
        }
    }

    @Test(arguments: LiveCase.all)
    func anUpstreamStillRunningAtTheJobTimeoutEndsInTimeout(_ live: LiveCase) async throws {
        try await run(live, jobTimeout: 2, script: { $0.finish(with: .never) }) { gateway, fake, client, owner in
            let id = try await submit(client, key: owner.key, model: live.textModel)
            let final = try await client.waitForFinal(id, key: owner.key, timeout: .seconds(120))
            #expect(final["status"] as? String == "error")
            #expect((final["error"] as? [String: Any])?["code"] as? String == "timeout")
            try await expectSettled(gateway, owner.account, job: id, charged: 0)
            // However far the job got upstream before its deadline, it was never submitted twice.
            #expect(fake.tasks.count <= 1)
        }
    }

    @Test func aKlingTaskWhoseCreateAnswerWasLostIsAdoptedNotCreatedAgain() async throws {
        let base = LiveCase.kling
        let kling = LiveCase(
            name: "kling", routes: FakeKling(losingCreateAnswers: 1).routes, configure: base.configure, textModel: base.textModel,
            imageModel: base.imageModel, createPath: base.createPath)
        try await run(kling) { gateway, fake, client, owner in
            let id = try await submit(client, key: owner.key, model: kling.textModel)
            let final = try await client.waitForFinal(id, key: owner.key)
            #expect(final["status"] as? String == "completed", "\(final)")
            // One create reached Kling; the retry looked the task up by external_task_id and adopted it.
            #expect(fake.requests(to: "/v1/videos/text2video", method: "POST").count == 1)
            #expect(fake.tasks.count == 1)
            #expect(fake.tasks.first?.externalID == id)
            try await expectSettled(gateway, owner.account, job: id, charged: try #require(final["credits_used"] as? Int))
        }
    }

    @Test func modelsOfProvidersWithoutCredentialsAreUnavailableToLiveKeys() async throws {
        let gateway = try await TestGateway.make(role: .api) { config in
            config.providers.klingAccessKey = "ak"
            config.providers.klingSecretKey = "sk"
        }
        let (account, key, _) = try await gateway.account(credits: 20_000, environment: .live)
        try await gateway.test { client in
            let models = try #require(try await client.get("/v1/models", key: key).json()["data"] as? [[String: Any]])
            for model in models {
                #expect(model["available"] as? Bool == (model["provider"] as? String == "kling"), "\(model)")
            }
            let refused = try await client.submit(key: key, json: #"{"prompt":"x","model":"sora-2"}"#)
            try refused.expectError(503, "model_unavailable")
            #expect(try await gateway.store.balances(accountID: account.id)[.live] == Balance(total: 20_000, held: 0))
        }
    }
}
