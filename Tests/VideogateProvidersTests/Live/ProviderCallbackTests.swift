import Foundation
import Hummingbird
import ProviderFakes
import Synchronization
import Testing
import VideogateDomain
import VideogateProviders

@Suite struct CallbackTokenTests {
    let signer = CallbackSigner(secret: "signing-test-secret")

    @Test func aTokenNamesItsJobForItsProviderOnly() {
        let token = signer.token(provider: .kling, jobID: "req_01JOB")
        #expect(token.hasPrefix("req_01JOB."))
        #expect(signer.jobID(fromToken: token, provider: .kling) == "req_01JOB")
        #expect(signer.jobID(fromToken: token, provider: .seedance) == nil)
    }

    @Test func anotherJobsIDUnderTheSameMacIsRefused() {
        let token = signer.token(provider: .kling, jobID: "req_01JOB")
        let mac = token.split(separator: ".").last.map(String.init) ?? ""
        #expect(signer.jobID(fromToken: "req_01OTHER." + mac, provider: .kling) == nil)
    }

    @Test(arguments: ["", ".", "req_01JOB", "req_01JOB.", ".abc", "req_01JOB.not-a-mac", "req_01JOB.a+b/c=", "req_01JOB.AAAA"])
    func malformedTokensAreRefused(token: String) {
        #expect(signer.jobID(fromToken: token, provider: .kling) == nil)
    }

    @Test func aTamperedMacOrAnotherSecretIsRefused() {
        let token = signer.token(provider: .seedance, jobID: "req_01JOB")
        var characters = Array(token)
        characters[characters.count - 2] = characters[characters.count - 2] == "A" ? "B" : "A"
        #expect(signer.jobID(fromToken: String(characters), provider: .seedance) == nil)
        #expect(CallbackSigner(secret: "another-secret").jobID(fromToken: token, provider: .seedance) == nil)
    }

    /// The last of the 43 characters carries 2 unused bits: a spelling that differs only there
    /// decodes to the same mac, and is refused all the same (one valid spelling per token).
    @Test(arguments: 0..<64)
    func everyOtherSpellingOfTheLastCharacterIsRefused(job: Int) {
        let token = signer.token(provider: .kling, jobID: "req_01JOB\(job)")
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for replacement in alphabet where replacement != token.last {
            #expect(signer.jobID(fromToken: String(token.dropLast()) + String(replacement), provider: .kling) == nil)
        }
        #expect(signer.jobID(fromToken: token, provider: .kling) == "req_01JOB\(job)")
    }

    @Test func urlsAreMadeOnlyForProvidersWithCallbacks() {
        let callbacks = ProviderCallbacks(signer: signer, baseURL: { "https://gate.example/" })
        let url = callbacks.url(provider: .kling, jobID: "req_01JOB")
        #expect(url == "https://gate.example/callbacks/kling/" + signer.token(provider: .kling, jobID: "req_01JOB"))
        #expect(callbacks.url(provider: .seedance, jobID: "req_01JOB")?.hasPrefix("https://gate.example/callbacks/seedance/req_01JOB.") == true)
        for provider in [ProviderKind.veo, .sora, .wan, .sandbox] { #expect(callbacks.url(provider: provider, jobID: "req_01JOB") == nil) }
    }
}

@Suite struct ProviderCallbackURLTests {
    let kling = FakeKling()

    func request(callbackURL: String?, model: String, jobID: String = "req_01TESTJOB") -> ProviderRequest {
        var request = liveRequest(model: model, jobID: jobID)
        request.callbackURL = callbackURL
        return request
    }

    @Test func klingSendsCallbackURLOnlyWhenSet() async throws {
        try await withFake(kling.routes) { fake in
            let provider = BoundProvider(
                KlingProvider(http: try testHTTP(), logger: quietLogger),
                ProviderCredential(
                    name: "test", provider: .kling, baseURL: fake.origin, auth: .kling(KlingTokens(accessKey: kling.accessKey, secretKey: kling.secretKey))))
            _ = try await provider.submit(request(callbackURL: "https://gate.example/callbacks/kling/req_a.mac", model: "kling-v2-5-turbo"))
            _ = try await provider.submit(request(callbackURL: nil, model: "kling-v2-5-turbo", jobID: "req_01OTHER"))
            let bodies = fake.requests(to: "/v1/videos/text2video", method: "POST").compactMap(\.json)
            #expect(bodies.first?["callback_url"] as? String == "https://gate.example/callbacks/kling/req_a.mac")
            #expect(bodies.count == 2 && bodies[1]["callback_url"] == nil)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func seedanceSendsCallbackURLOnlyWhenSet() async throws {
        try await withFake(FakeSeedance().routes) { fake in
            let provider = BoundProvider(SeedanceProvider(http: try testHTTP(), logger: quietLogger), .test(.seedance, baseURL: fake.origin + "/api/v3", key: "ark-test"))
            _ = try await provider.submit(request(callbackURL: "https://gate.example/callbacks/seedance/req_a.mac", model: "seedance-1-5-pro-251215"))
            _ = try await provider.submit(request(callbackURL: nil, model: "seedance-1-5-pro-251215"))
            let bodies = fake.requests(to: "/api/v3/contents/generations/tasks", method: "POST").compactMap(\.json)
            #expect(bodies.first?["callback_url"] as? String == "https://gate.example/callbacks/seedance/req_a.mac")
            #expect(bodies.count == 2 && bodies[1]["callback_url"] == nil)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func fakeKlingPostsTheTaskObjectToTheCallbackURLWhenTheTaskFinishes() async throws {
        let received = Mutex<[Data]>([])
        try await LocalServer.run({ router in
            router.post("/hook") { request, context -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 16)
                received.withLock { $0.append(Data(buffer: body)) }
                return Response(status: .ok)
            }
        }) { port in
            try await withFake(kling.routes) { fake in
                fake.finish(after: .milliseconds(300))
                fake.sendCallbacks()
                let provider = BoundProvider(
                    KlingProvider(http: try testHTTP(), logger: quietLogger),
                    ProviderCredential(
                        name: "test", provider: .kling, baseURL: fake.origin,
                        auth: .kling(KlingTokens(accessKey: kling.accessKey, secretKey: kling.secretKey))))
                let submission = try await provider.submit(request(callbackURL: "http://127.0.0.1:\(port)/hook", model: "kling-v2-5-turbo"))
                let deadline = ContinuousClock.now + .seconds(10)
                while received.withLock({ $0.isEmpty }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                let body = try #require(received.withLock { $0.first })
                let task = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
                #expect(task["task_id"] as? String == submission.providerJobID)
                #expect(task["task_status"] as? String == "succeed")
                // The fake records the answer once our handler's response reaches it.
                while fake.callbackAnswers[submission.providerJobID] == nil, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(fake.callbackAnswers[submission.providerJobID] == [200])
            }
        }
    }
}
