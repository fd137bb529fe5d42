import Foundation
import ProviderFakes
import Testing
import VideogateDomain
import VideogateProviders

@Suite struct KlingProviderTests {
    let kling = FakeKling()

    func provider(_ fake: FakeUpstream) throws -> BoundProvider<KlingProvider> {
        BoundProvider(
            KlingProvider(http: try testHTTP(), logger: quietLogger),
            ProviderCredential(
                name: "test", provider: .kling, baseURL: fake.origin, auth: .kling(KlingTokens(accessKey: kling.accessKey, secretKey: kling.secretKey))))
    }

    @Test func textToVideoSendsTheDocumentedRequestAndFetchesTheResult() async throws {
        try await withFake(kling.routes) { fake in
            let provider = try provider(fake)
            let request = liveRequest(model: "kling-v2-5-turbo", aspectRatio: .portrait, duration: 10)
            let submission = try await provider.submit(request)
            #expect(submission.providerJobID.hasPrefix("kt_"))
            #expect(submission.providerRequestID?.hasPrefix("kreq_") == true)
            let create = try #require(fake.requests(to: "/v1/videos/text2video", method: "POST").first)
            let body = try #require(create.json)
            #expect(body["model_name"] as? String == "kling-v2-5-turbo")
            #expect(body["mode"] as? String == "pro")
            #expect(body["duration"] as? String == "10")
            #expect(body["aspect_ratio"] as? String == "9:16")
            #expect(body["prompt"] as? String == "a red fox in snow")
            #expect(body["external_task_id"] as? String == "req_01TESTJOB")
            let token = try #require(create.headers["authorization"]).replacingOccurrences(of: "Bearer ", with: "")
            #expect(FakeKling.checkJWT(token, accessKey: kling.accessKey, secretKey: kling.secretKey) == nil)

            #expect(try await provider.poll(handle(submission, request)) == .running(progress: nil))
            let done = try await pollToEnd(provider, handle(submission, request))
            let url = try #require(done.resultURL ?? nil)
            #expect(url == "\(fake.origin)/cdn/\(submission.providerJobID).mp4")
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kling-\(UUID().uuidString).mp4")
            defer { try? FileManager.default.removeItem(at: scratch) }
            try await provider.fetchResult(handle(submission, request), result: ProviderResult(videoURL: url), to: scratch)
            #expect(try Data(contentsOf: scratch) == fake.video)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func imageToVideoPassesAURLOnAndBytesAsRawBase64() async throws {
        try await withFake(kling.routes) { fake in
            let provider = try provider(fake)
            _ = try await provider.submit(liveRequest(model: "kling-v2-5-turbo", mode: .imageToVideo, image: .url("https://images.example/fox.png"), jobID: "req_a"))
            _ = try await provider.submit(liveRequest(model: "kling-v2-5-turbo", mode: .imageToVideo, image: .bytes(tinyPNG, mediaType: "image/png"), jobID: "req_b"))
            let bodies = fake.requests(to: "/v1/videos/image2video", method: "POST").compactMap(\.json)
            #expect(bodies.count == 2)
            #expect(bodies.first?["image"] as? String == "https://images.example/fox.png")
            #expect(bodies.last?["image"] as? String == tinyPNG.base64EncodedString())
            #expect(bodies.allSatisfy { $0["aspect_ratio"] == nil })
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func aResubmissionAdoptsTheTaskCreatedBeforeTheCrash() async throws {
        try await withFake(kling.routes) { fake in
            let provider = try provider(fake)
            let first = try await provider.submit(liveRequest(model: "kling-v2-6"))
            let again = try await provider.submit(liveRequest(model: "kling-v2-6", resubmission: true))
            #expect(again.providerJobID == first.providerJobID)
            #expect(fake.requests(to: "/v1/videos/text2video", method: "POST").count == 1)
            #expect(fake.tasks.count == 1)
        }
    }

    @Test func aResubmissionWithoutAnEarlierTaskSubmits() async throws {
        try await withFake(kling.routes) { fake in
            let submission = try await provider(fake).submit(liveRequest(model: "kling-v2-6", resubmission: true))
            #expect(fake.tasks.map(\.id) == [submission.providerJobID])
        }
    }

    @Test func policyRefusalsAtSubmitAndInTheFinalStateAreContentPolicyViolations() async throws {
        try await withFake(kling.routes) { fake in
            let provider = try provider(fake)
            fake.refuseCreatesForPolicy()
            #expect(await failure { try await provider.submit(liveRequest(model: "kling-v2-6")) }?.finalCode == .contentPolicyViolation)
            fake.refuseCreatesForPolicy(false)
            fake.finish(with: .policy)
            let request = liveRequest(model: "kling-v2-6")
            let submission = try await provider.submit(request)
            #expect(try await pollToEnd(provider, handle(submission, request)).failureCode == .contentPolicyViolation)
            fake.finish(with: .fail)
            let other = try await provider.submit(liveRequest(model: "kling-v2-6", jobID: "req_other"))
            #expect(try await pollToEnd(provider, handle(other, request)).failureCode == .providerError)
        }
    }

    @Test func throttlingServerErrorsAndMalformedAnswersAreRetryable() async throws {
        try await withFake(kling.routes) { fake in
            let provider = try provider(fake)
            fake.inject([.status(429, retryAfter: 7), .status(500)], on: .create)
            #expect(await failure { try await provider.submit(liveRequest(model: "kling-v2-6")) } == .retryable("Kling answered code 1302 (fault 429)", retryAfter: 7))
            #expect(await failure { try await provider.submit(liveRequest(model: "kling-v2-6")) }?.isRetryable == true)
            let request = liveRequest(model: "kling-v2-6")
            let submission = try await provider.submit(request)
            fake.inject([.malformed], on: .status)
            #expect(await failure { try await provider.poll(handle(submission, request)) }?.isRetryable == true)
        }
    }

    @Test func badCredentialsAreRefusedCredentials() async throws {
        try await withFake(kling.routes) { fake in
            let provider = BoundProvider(
                KlingProvider(http: try testHTTP(), logger: quietLogger),
                ProviderCredential(name: "test", provider: .kling, baseURL: fake.origin, auth: .kling(KlingTokens(accessKey: kling.accessKey, secretKey: "wrong"))))
            let failed = await failure { try await provider.submit(liveRequest(model: "kling-v2-6")) }
            guard case .credentialRefused(let message)? = failed else {
                Issue.record("expected a refused credential, got \(String(describing: failed))")
                return
            }
            #expect(message.contains("code 1004"))
        }
    }

    /// Secret keys of any length sign tokens that a plain HMAC-SHA256 with the key as given
    /// verifies (jwt-kit is handed the key zero-padded to 32 bytes, which HMAC treats alike).
    @Test(arguments: [2, 31, 32, 33, 64, 70])
    func tokensFromSecretKeysOfAnyLengthVerifyWithTheKeyAsGiven(length: Int) async throws {
        let secret = String((0..<length).map { index in "abcdefghijklmnopqrstuvwxyz0123456789"[index % 36] })
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let token = try await KlingTokens(accessKey: "ak", secretKey: secret, now: { now }).token()
        #expect(FakeKling.checkJWT(token, accessKey: "ak", secretKey: secret, now: now) == nil)
        #expect(FakeKling.checkJWT(token, accessKey: "ak", secretKey: secret + "x", now: now) != nil)
    }

    @Test func tokensAreReusedAndRenewedBeforeTheyExpire() async throws {
        let clock = MutableClock(Date(timeIntervalSince1970: 1_800_000_000))
        let tokens = KlingTokens(accessKey: "ak", secretKey: "sk", now: { clock.now })
        let first = try await tokens.token()
        #expect(FakeKling.checkJWT(first, accessKey: "ak", secretKey: "sk", now: clock.now) == nil)
        clock.advance(1000)
        #expect(try await tokens.token() == first)
        clock.advance(600)  // 1600 s after issue: less than 5 minutes left
        let renewed = try await tokens.token()
        #expect(renewed != first)
        #expect(FakeKling.checkJWT(renewed, accessKey: "ak", secretKey: "sk", now: clock.now) == nil)
    }
}

final class MutableClock: Sendable {
    private let instant: Mutex<Date>
    init(_ start: Date) { instant = Mutex(start) }
    var now: Date { instant.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { instant.withLock { $0 += seconds } }
}

import Synchronization

private extension String {
    subscript(_ index: Int) -> Character { self[self.index(startIndex, offsetBy: index)] }
}
