import Foundation
import Hummingbird
import NIOCore
import ProviderFakes
import Synchronization
import Testing
import VideogateDomain
import VideogateProviders

/// Veo's two outward edges: an image URL is fetched by the worker and sent as bytes (Veo documents no
/// size limit, so any size goes), and the Gemini key goes only to the configured Gemini origin.
@Suite struct VeoImageAndKeyTests {
    func provider(_ fake: FakeUpstream) throws -> BoundProvider<VeoProvider> {
        BoundProvider(VeoProvider(http: try testHTTP(), logger: quietLogger), .test(.veo, baseURL: fake.origin + "/v1beta", key: "gemini-test"))
    }

    @Test func anImageURLOfAnySizeIsFetchedAndCreatedOnce() async throws {
        try await withFake(withImageHost(FakeVeo().routes, image: tinyPNG)) { fake in
            let request = liveRequest(
                model: "veo-3.1-generate-preview", mode: .imageToVideo, image: .url(fake.origin + "/images/fox.png"), duration: 8)
            _ = try await provider(fake).submit(request)
            #expect(fake.requests(to: "/v1beta/models/", method: "POST").count == 1)
        }
    }

    @Test func aVideoURIOnAnotherOriginIsFetchedWithoutTheKey() async throws {
        let seen = Mutex<[(headers: [String: String], query: String)]>([])
        let video = try FakeVideo.mp4()
        try await LocalServer.run({ router in
            router.get("/v1beta/files/{file}") { request, _ in
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                seen.withLock { $0.append((headers, request.uri.query ?? "")) }
                return Response(status: .ok, headers: [.contentType: "video/mp4"], body: .init(byteBuffer: ByteBuffer(bytes: video)))
            }
        }) { otherPort in
            // Same host, another port: another origin, as far as the key is concerned.
            let otherOrigin = "http://127.0.0.1:\(otherPort)"
            try await withFake(FakeVeo(fileOrigin: otherOrigin).routes) { fake in
                let provider = try provider(fake)
                let request = liveRequest(model: "veo-3.1-generate-preview", duration: 8)
                let submission = try await provider.submit(request)
                let done = try await pollToEnd(provider, handle(submission, request))
                let uri = try #require(done.resultURL ?? nil)
                #expect(uri.hasPrefix(otherOrigin))
                let file = scratchFile()
                defer { try? FileManager.default.removeItem(at: file) }
                try await provider.fetchResult(handle(submission, request), result: ProviderResult(videoURL: uri), to: file)
                #expect(try Data(contentsOf: file) == video)
                // The Gemini host itself still got the key on every call.
                #expect(fake.requests(to: "/v1beta/models/").allSatisfy { $0.headers["x-goog-api-key"] == "gemini-test" })
            }
        }
        let requests = seen.withLock { $0 }
        #expect(requests.count == 1)
        for request in requests {
            #expect(request.headers["x-goog-api-key"] == nil)
            #expect(!request.headers.values.contains { $0.contains("gemini-test") })
            #expect(!request.query.contains("key="))
        }
    }

    @Test(arguments: [
        ("https://generativelanguage.googleapis.com/v1beta/files/a", "https://generativelanguage.googleapis.com/v1beta", true),
        ("https://GenerativeLanguage.googleapis.com:443/x", "https://generativelanguage.googleapis.com/v1beta", true),
        ("http://generativelanguage.googleapis.com/x", "https://generativelanguage.googleapis.com/v1beta", false),
        ("https://generativelanguage.googleapis.com:8443/x", "https://generativelanguage.googleapis.com/v1beta", false),
        ("https://evil.example/generativelanguage.googleapis.com", "https://generativelanguage.googleapis.com/v1beta", false),
        ("https://generativelanguage.googleapis.com.evil.example/x", "https://generativelanguage.googleapis.com/v1beta", false),
        ("https://user@evil.example/x", "https://generativelanguage.googleapis.com/v1beta", false),
        ("not a url", "https://generativelanguage.googleapis.com/v1beta", false),
    ])
    func theKeyFollowsOnlyTheSameSchemeHostAndPort(uri: String, base: String, same: Bool) throws {
        let provider = BoundProvider(VeoProvider(http: try testHTTP(), logger: quietLogger), .test(.veo, baseURL: base, key: "k"))
        #expect(provider.provider.sendsKey(to: uri, on: provider.credential) == same)
    }
}
