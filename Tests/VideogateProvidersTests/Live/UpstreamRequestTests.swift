import Foundation
import Hummingbird
import NIOCore
import ProviderFakes
import Testing
import VideogateDomain
import VideogateProviders

/// The exact requests each adapter sends, checked field by field against the provider's
/// documentation (the fakes also refuse anything else), and the provider-specific paths:
/// image handling, unknown states, downloads.

/// Provider routes plus `/images/fox.png`, a PNG (tiny unless given) for image-URL cases.
func withImageHost(
    _ routes: @escaping @Sendable (Router<BasicRequestContext>, FakeUpstream) -> Void, image: Data = tinyPNG
) -> @Sendable (Router<BasicRequestContext>, FakeUpstream) -> Void {
    { router, fake in
        routes(router, fake)
        router.get("/images/fox.png") { _, _ in
            Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: image)))
        }
    }
}

func jsonAnswer(_ object: [String: Any]) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func scratchFile() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("upstream-\(UUID().uuidString).mp4") }

@Suite struct VeoRequestTests {
    func provider(_ fake: FakeUpstream, key: String = "gemini-test") throws -> BoundProvider<VeoProvider> {
        BoundProvider(VeoProvider(http: try testHTTP(), logger: quietLogger), .test(.veo, baseURL: fake.origin + "/v1beta", key: key))
    }

    @Test func textToVideoIsAPredictLongRunningCallWithTheKeyHeader() async throws {
        try await withFake(FakeVeo().routes) { fake in
            let provider = try provider(fake)
            let request = liveRequest(model: "veo-3.1-generate-preview", aspectRatio: .portrait, duration: 8)
            let submission = try await provider.submit(request)
            #expect(submission.providerJobID.hasPrefix("models/veo-3.1-generate-preview/operations/"))
            let create = try #require(fake.requests(to: "/v1beta/models/", method: "POST").first)
            #expect(create.path == "/v1beta/models/veo-3.1-generate-preview:predictLongRunning")
            #expect(create.headers["x-goog-api-key"] == "gemini-test")
            #expect(create.headers["authorization"] == nil)
            let body = try #require(create.json)
            let instance = try #require((body["instances"] as? [[String: Any]])?.first)
            #expect(instance["prompt"] as? String == "a red fox in snow")
            #expect(instance["image"] == nil)
            let parameters = try #require(body["parameters"] as? [String: Any])
            #expect(parameters["aspectRatio"] as? String == "9:16")
            #expect(parameters["durationSeconds"] as? Int == 8)

            let done = try await pollToEnd(provider, handle(submission, request))
            let uri = try #require(done.resultURL ?? nil)
            let file = scratchFile()
            defer { try? FileManager.default.removeItem(at: file) }
            try await provider.fetchResult(handle(submission, request), result: ProviderResult(videoURL: uri), to: file)
            #expect(try Data(contentsOf: file) == fake.video)
            // The file URI is fetched with the key (the fake then redirects to its file host; a redirect
            // to another origin would lose the key, see OutboundClientTests).
            #expect(fake.requests(to: "/v1beta/files/").first?.headers["x-goog-api-key"] == "gemini-test")
            #expect(fake.requests(to: "/cdn/").count == 1)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func anImageURLIsFetchedAndSentAsBytes() async throws {
        try await withFake(withImageHost(FakeVeo().routes, image: startPNG)) { fake in
            let request = liveRequest(model: "veo-3.1-fast-generate-preview", mode: .imageToVideo, image: .url(fake.origin + "/images/fox.png"), duration: 6)
            _ = try await provider(fake).submit(request)
            let body = try #require(fake.requests(to: "/v1beta/models/", method: "POST").first?.json)
            let image = try #require(((body["instances"] as? [[String: Any]])?.first)?["image"] as? [String: Any])
            #expect(image["bytesBase64Encoded"] as? String == startPNG.base64EncodedString())
            #expect(image["mimeType"] as? String == "image/png")
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func anImageURLThatIsNotAnImageOrIsRefusedEndsInInvalidImage() async throws {
        try await withFake(FakeVeo().routes) { fake in
            let provider = try provider(fake)
            let notImage = liveRequest(model: "veo-3.1-generate-preview", mode: .imageToVideo, image: .url(fake.origin + "/cdn/x.mp4"))
            #expect(await failure { try await provider.submit(notImage) }?.finalCode == .invalidImage)
            let missing = liveRequest(model: "veo-3.1-generate-preview", mode: .imageToVideo, image: .url(fake.origin + "/nothing.png"))
            #expect(await failure { try await provider.submit(missing) }?.finalCode == .invalidImage)
            let privateAddress = liveRequest(model: "veo-3.1-generate-preview", mode: .imageToVideo, image: .url("https://10.0.0.7/fox.png"))
            #expect(await failure { try await provider.submit(privateAddress) }?.finalCode == .invalidImage)
            #expect(fake.requests(to: "/v1beta/models/", method: "POST").isEmpty)
        }
    }

    @Test func aWrongKeyIsARefusedCredentialThatDoesNotEchoTheKey() async throws {
        try await withFake(FakeVeo().routes) { fake in
            let failed = await failure { try await provider(fake, key: "secret-wrong-key").submit(liveRequest(model: "veo-3.1-generate-preview")) }
            guard case .credentialRefused(let message)? = failed else {
                Issue.record("expected a refused credential, got \(String(describing: failed))")
                return
            }
            #expect(!message.contains("secret-wrong-key"))
        }
    }
}

@Suite struct SoraRequestTests {
    func provider(_ fake: FakeUpstream, auth: SoraProvider.AuthStyle = .bearer) throws -> BoundProvider<SoraProvider> {
        BoundProvider(
            SoraProvider(http: try testHTTP(), logger: quietLogger),
            ProviderCredential(name: "test", provider: .sora, baseURL: fake.origin + "/v1", auth: .openAI("openai-test", auth)))
    }

    @Test(arguments: [SoraProvider.AuthStyle.bearer, .apiKey])
    func createIsMultipartWithStringSecondsAndSize(_ auth: SoraProvider.AuthStyle) async throws {
        try await withFake(FakeSora(auth: auth.rawValue).routes) { fake in
            let provider = try provider(fake, auth: auth)
            let request = liveRequest(model: "sora-2-pro", aspectRatio: .portrait, duration: 12)
            let submission = try await provider.submit(request)
            let create = try #require(fake.requests(to: "/v1/videos", method: "POST").first)
            #expect(create.path == "/v1/videos")
            if auth == .bearer {
                #expect(create.headers["authorization"] == "Bearer openai-test")
                #expect(create.headers["api-key"] == nil)
            } else {
                #expect(create.headers["api-key"] == "openai-test")
                #expect(create.headers["authorization"] == nil)
            }
            let contentType = try #require(create.headers["content-type"])
            #expect(contentType.hasPrefix("multipart/form-data; boundary="))
            let parts = try #require(FakeSora.parseMultipart(body: create.body, contentType: contentType))
            #expect(parts["model"]?.text == "sora-2-pro")
            #expect(parts["prompt"]?.text == "a red fox in snow")
            #expect(parts["seconds"]?.text == "12")
            #expect(parts["size"]?.text == "720x1280")
            #expect(parts["input_reference"] == nil)

            #expect(try await provider.poll(handle(submission, request)) != .succeeded(ProviderResult()))
            let done = try await pollToEnd(provider, handle(submission, request))
            #expect(done == .succeeded(ProviderResult()))
            let file = scratchFile()
            defer { try? FileManager.default.removeItem(at: file) }
            try await provider.fetchResult(handle(submission, request), result: ProviderResult(), to: file)
            #expect(try Data(contentsOf: file) == fake.video)
            #expect(fake.requests(to: "/v1/videos/\(submission.providerJobID)/content").count == 1)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func aStartImageIsUploadedAsInputReferenceFittedToTheSize() async throws {
        try await withFake(withImageHost(FakeSora().routes)) { fake in
            let request = liveRequest(model: "sora-2", mode: .imageToVideo, image: .url(fake.origin + "/images/fox.png"), aspectRatio: .landscape, duration: 4)
            _ = try await provider(fake).submit(request)
            let create = try #require(fake.requests(to: "/v1/videos", method: "POST").first)
            let parts = try #require(FakeSora.parseMultipart(body: create.body, contentType: create.headers["content-type"] ?? ""))
            let reference = try #require(parts["input_reference"])
            #expect(reference.contentType == "image/png")
            #expect(reference.filename != nil)
            // PNG IHDR: width and height, big-endian, at bytes 16 and 20.
            let png = reference.value
            let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
            let height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width == 1280 && height == 720)
            #expect(parts["size"]?.text == "1280x720")
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func progressIsPassedOnWhileRendering() async throws {
        try await withFake(FakeSora().routes) { fake in
            fake.runningPolls(3)
            let provider = try provider(fake)
            let request = liveRequest(model: "sora-2", duration: 4)
            let submission = try await provider.submit(request)
            var progress: [Int] = []
            for _ in 0..<3 {
                if case .running(let value?) = try await provider.poll(handle(submission, request)) { progress.append(value) }
            }
            #expect(!progress.isEmpty)
            #expect(progress.allSatisfy { (0...100).contains($0) })
        }
    }
}

@Suite struct WanRequestTests {
    func provider(_ fake: FakeUpstream) throws -> BoundProvider<WanProvider> {
        BoundProvider(WanProvider(http: try testHTTP(), logger: quietLogger), .test(.wan, baseURL: fake.origin + "/api/v1", key: "dashscope-test"))
    }

    @Test(arguments: [(AspectRatio.landscape, "1280*720"), (.portrait, "720*1280"), (.square, "960*960")])
    func textToVideoIsAnAsyncTaskWithSizeInStarForm(_ ratio: AspectRatio, _ size: String) async throws {
        try await withFake(FakeWan().routes) { fake in
            let provider = try provider(fake)
            let request = liveRequest(model: "wan2.5-t2v-preview", aspectRatio: ratio, duration: 10)
            let submission = try await provider.submit(request)
            let create = try #require(fake.requests(to: "/api/v1/services/aigc/video-generation/video-synthesis", method: "POST").first)
            #expect(create.headers["authorization"] == "Bearer dashscope-test")
            #expect(create.headers["x-dashscope-async"] == "enable")
            let body = try #require(create.json)
            #expect(body["model"] as? String == "wan2.5-t2v-preview")
            #expect((body["input"] as? [String: Any])?["prompt"] as? String == "a red fox in snow")
            #expect((body["input"] as? [String: Any])?["img_url"] == nil)
            let parameters = try #require(body["parameters"] as? [String: Any])
            #expect(parameters["size"] as? String == size)
            #expect(parameters["duration"] as? Int == 10)
            #expect(submission.providerRequestID != nil)
            let done = try await pollToEnd(provider, handle(submission, request))
            #expect(fake.requests(to: "/api/v1/tasks/\(submission.providerJobID)").count >= 1)
            #expect((done.resultURL ?? nil)?.hasSuffix(".mp4") == true)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func imageToVideoSendsImgURLAndResolution() async throws {
        try await withFake(FakeWan().routes) { fake in
            let provider = try provider(fake)
            _ = try await provider.submit(liveRequest(model: "wan2.5-i2v-preview", mode: .imageToVideo, image: .url("https://images.example/fox.png"), duration: 10))
            _ = try await provider.submit(liveRequest(model: "wan2.5-i2v-preview", mode: .imageToVideo, image: .bytes(tinyPNG, mediaType: "image/png"), jobID: "req_b"))
            let bodies = fake.requests(to: "/api/v1/services/", method: "POST").compactMap(\.json)
            #expect((bodies.first?["input"] as? [String: Any])?["img_url"] as? String == "https://images.example/fox.png")
            #expect((bodies.last?["input"] as? [String: Any])?["img_url"] as? String == "data:image/png;base64," + tinyPNG.base64EncodedString())
            #expect((bodies.first?["parameters"] as? [String: Any])?["resolution"] as? String == "720P")
            #expect((bodies.first?["parameters"] as? [String: Any])?["duration"] as? Int == 10)
            #expect((bodies.first?["parameters"] as? [String: Any])?["size"] == nil)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func anUnknownTaskIdEndsTheJob() async throws {
        try await withFake(FakeWan().routes) { fake in
            let request = liveRequest(model: "wan2.5-t2v-preview")
            let poll = try await provider(fake).poll(ProviderHandle(providerJobID: "no-such-task", submittedAt: Date(), request: request))
            #expect(poll.failureCode == .providerError)
        }
    }
}

@Suite struct SeedanceRequestTests {
    func provider(_ fake: FakeUpstream) throws -> BoundProvider<SeedanceProvider> {
        BoundProvider(SeedanceProvider(http: try testHTTP(), logger: quietLogger), .test(.seedance, baseURL: fake.origin + "/api/v3", key: "ark-test"))
    }

    @Test func textToVideoSendsContentRatioDurationAndNoWatermark() async throws {
        try await withFake(FakeSeedance().routes) { fake in
            let provider = try provider(fake)
            let request = liveRequest(model: "seedance-1-5-pro-251215", aspectRatio: .square, duration: 7)
            let submission = try await provider.submit(request)
            #expect(submission.providerJobID.hasPrefix("cgt-"))
            let create = try #require(fake.requests(to: "/api/v3/contents/generations/tasks", method: "POST").first)
            #expect(create.headers["authorization"] == "Bearer ark-test")
            let body = try #require(create.json)
            #expect(body["model"] as? String == "seedance-1-5-pro-251215")
            let content = try #require(body["content"] as? [[String: Any]])
            #expect(content.count == 1)
            #expect(content.first?["type"] as? String == "text")
            #expect(content.first?["text"] as? String == "a red fox in snow")
            #expect(body["ratio"] as? String == "1:1")
            #expect(body["duration"] as? Int == 7)
            #expect(body["resolution"] as? String == "720p")
            #expect(body["watermark"] as? Bool == false)
            let done = try await pollToEnd(provider, handle(submission, request))
            #expect((done.resultURL ?? nil) != nil)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func imageToVideoAddsAFirstFrameImage() async throws {
        try await withFake(FakeSeedance().routes) { fake in
            _ = try await provider(fake).submit(
                liveRequest(model: "seedance-1-5-pro-251215", mode: .imageToVideo, image: .bytes(tinyPNG, mediaType: "image/png")))
            let content = try #require(fake.requests(to: "/api/v3/", method: "POST").first?.json?["content"] as? [[String: Any]])
            #expect(content.count == 2)
            #expect(content.last?["type"] as? String == "image_url")
            #expect(content.last?["role"] as? String == "first_frame")
            #expect((content.last?["image_url"] as? [String: Any])?["url"] as? String == "data:image/png;base64," + tinyPNG.base64EncodedString())
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }
}

/// States a provider adds later must not fail jobs: they are polled again.
@Suite struct UnknownStateTests {
    @Test func anUndocumentedStateKeepsPolling() async throws {
        let routes: @Sendable (Router<BasicRequestContext>, FakeUpstream) -> Void = { router, _ in
            router.get("/api/v3/contents/generations/tasks/{id}") { _, _ in
                jsonAnswer(["id": "cgt-1", "status": "warming_up"])
            }
            router.get("/api/v1/tasks/{id}") { _, _ in
                jsonAnswer(["request_id": "r", "output": ["task_id": "t", "task_status": "QUEUED_FOR_GPU"]])
            }
        }
        try await withFake(routes) { fake in
            let http = try testHTTP()
            let seedance = BoundProvider(SeedanceProvider(http: http, logger: quietLogger), .test(.seedance, baseURL: fake.origin + "/api/v3", key: "k"))
            let wan = BoundProvider(WanProvider(http: http, logger: quietLogger), .test(.wan, baseURL: fake.origin + "/api/v1", key: "k"))
            let request = liveRequest(model: "m")
            #expect(try await seedance.poll(ProviderHandle(providerJobID: "cgt-1", submittedAt: Date(), request: request)) == .running(progress: nil))
            #expect(try await wan.poll(ProviderHandle(providerJobID: "t", submittedAt: Date(), request: request)) == .running(progress: nil))
        }
    }
}
