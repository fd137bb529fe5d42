import Foundation
import ProviderFakes
import Testing
import VideogateDomain
import VideogateProviders

/// Veo on the route `vertex`: service-account tokens, predictLongRunning and fetchPredictOperation on
/// the regional endpoint, results as bytes or a gs:// object, against the strict fake.
@Suite struct VertexRequestTests {
    /// Runs `body` with the fake and a Veo adapter bound to a vertex credential whose key file names the
    /// fake's token endpoint.
    func withVertex(
        _ vertex: FakeVertex? = nil, _ body: @Sendable (FakeUpstream, FakeVertex, BoundProvider<VeoProvider>, VertexAccess) async throws -> Void
    ) async throws {
        let vertex = try vertex ?? FakeVertex()
        try await withFake(vertex.routes) { fake in
            let file = try Self.writeKeyFile(vertex.serviceAccountJSON(tokenURI: fake.origin + "/token"))
            defer { try? FileManager.default.removeItem(at: file) }
            let definition = CredentialDefinition(
                name: "veo-vertex", provider: "veo", route: "vertex", baseURL: fake.origin + "/v1", serviceAccountFile: file.path,
                project: vertex.project, location: vertex.location)
            let credential = try definition.resolve(environment: [:], field: "credentials[0]")
            guard case .vertex(let access) = credential.auth else { throw CredentialNotVertex() }
            try await body(fake, vertex, BoundProvider(VeoProvider(http: try testHTTP(), logger: quietLogger), credential), access)
        }
    }

    struct CredentialNotVertex: Error {}

    static func writeKeyFile(_ data: Data) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sa-\(UUID().uuidString).json")
        try data.write(to: file)
        return file
    }

    static let modelPath = "/v1/projects/fake-project/locations/us-central1/publishers/google/models/"

    @Test func textToVideoIsAPredictLongRunningCallWithABearerTokenAndTheVertexModelID() async throws {
        try await withVertex { fake, vertex, provider, access in
            let request = liveRequest(model: "veo-3.1-generate-preview", aspectRatio: .portrait, duration: 8)
            let submission = try await provider.submit(request)
            #expect(
                submission.providerJobID.hasPrefix(
                    "projects/fake-project/locations/us-central1/publishers/google/models/veo-3.1-generate-001/operations/"))
            let create = try #require(fake.requests(to: Self.modelPath, method: "POST").first)
            #expect(create.path == Self.modelPath + "veo-3.1-generate-001:predictLongRunning")
            #expect(create.headers["authorization"]?.hasPrefix("Bearer ya29.fake-") == true)
            let body = try #require(create.json)
            let instance = try #require((body["instances"] as? [[String: Any]])?.first)
            #expect(instance["prompt"] as? String == "a red fox in snow")
            #expect(instance["image"] == nil)
            let parameters = try #require(body["parameters"] as? [String: Any])
            #expect(parameters["aspectRatio"] as? String == "9:16")
            #expect(parameters["durationSeconds"] as? Int == 8)
            #expect(parameters["sampleCount"] as? Int == 1)
            #expect(parameters["storageUri"] == nil)

            let done = try await pollToEnd(provider, handle(submission, request))
            let poll = try #require(fake.requests(to: Self.modelPath, method: "POST").last)
            #expect(poll.path == Self.modelPath + "veo-3.1-generate-001:fetchPredictOperation")
            #expect(poll.json?["operationName"] as? String == submission.providerJobID)
            let inline = try #require(done.resultURL ?? nil)
            #expect(inline.hasPrefix("data:video/mp4;base64,"))
            let file = scratchFile()
            defer { try? FileManager.default.removeItem(at: file) }
            try await provider.fetchResult(handle(submission, request), result: ProviderResult(videoURL: inline), to: file)
            #expect(try Data(contentsOf: file) == fake.video)
            // One grant served the create and every poll.
            #expect(vertex.grants == 1)
            #expect(access.grantCount == 1)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func imageToVideoSendsTheImageAsBytesOnTheFastModel() async throws {
        try await withVertex { fake, _, provider, _ in
            let request = liveRequest(
                model: "veo-3.1-fast-generate-preview", mode: .imageToVideo, image: .bytes(startPNG, mediaType: "image/png"), duration: 6)
            _ = try await provider.submit(request)
            let create = try #require(fake.requests(to: Self.modelPath, method: "POST").first)
            #expect(create.path == Self.modelPath + "veo-3.1-fast-generate-001:predictLongRunning")
            let instance = try #require((create.json?["instances"] as? [[String: Any]])?.first)
            let image = try #require(instance["image"] as? [String: Any])
            #expect(image["mimeType"] as? String == "image/png")
            #expect((image["bytesBase64Encoded"] as? String).flatMap { Data(base64Encoded: $0) } == startPNG)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func aGCSResultIsDownloadedThroughTheStorageJSONAPIWithTheToken() async throws {
        try await withVertex { fake, vertex, provider, _ in
            vertex.deliver(.gcsURI)
            let request = liveRequest(model: "veo-3.1-generate-preview", duration: 8)
            let submission = try await provider.submit(request)
            let uri = try #require(try await pollToEnd(provider, handle(submission, request)).resultURL ?? nil)
            #expect(uri.hasPrefix("gs://fake-veo-bucket/videos/"))
            let file = scratchFile()
            defer { try? FileManager.default.removeItem(at: file) }
            try await provider.fetchResult(handle(submission, request), result: ProviderResult(videoURL: uri), to: file)
            #expect(try Data(contentsOf: file) == fake.video)
            let download = try #require(fake.requests(to: "/storage/v1/b/fake-veo-bucket/o/").first)
            #expect(download.headers["authorization"]?.hasPrefix("Bearer ya29.fake-") == true)
            #expect(download.query == "alt=media")
            #expect(vertex.grants == 1)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func concurrentCallersShareOneGrant() async throws {
        try await withVertex { fake, vertex, provider, access in
            let http = try testHTTP()
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 { group.addTask { try await access.accessToken(http: http) } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(tokens.count == 1)
            #expect(vertex.grants == 1)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func aTokenWithinFiveMinutesOfExpiryIsRenewed() async throws {
        try await withVertex { fake, vertex, provider, access in
            vertex.tokenLifetime(200)
            let http = try testHTTP()
            let first = try await access.accessToken(http: http)
            let second = try await access.accessToken(http: http)
            #expect(first != second)
            #expect(vertex.grants == 2)
            vertex.tokenLifetime(3599)
            let third = try await access.accessToken(http: http)
            #expect(try await access.accessToken(http: http) == third)
            #expect(vertex.grants == 3)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test func aTokenTheAPIRefusesIsDroppedAndTheNextCallMakesANewGrant() async throws {
        try await withVertex { fake, vertex, provider, _ in
            let request = liveRequest(model: "veo-3.1-generate-preview", duration: 8)
            let submission = try await provider.submit(request)
            vertex.revokeTokens()
            let refused = await failure { try await provider.poll(handle(submission, request)) }
            guard case .credentialRefused? = refused else {
                Issue.record("expected credentialRefused, got \(String(describing: refused))")
                return
            }
            _ = try await pollToEnd(provider, handle(submission, request))
            #expect(vertex.grants == 2)
        }
    }

    @Test func aRefusedGrantIsARefusedCredentialAndAFailingEndpointIsRetryable() async throws {
        try await withVertex { fake, vertex, provider, _ in
            let request = liveRequest(model: "veo-3.1-generate-preview", duration: 8)
            vertex.failGrants([503, 429])
            #expect(await failure { try await provider.submit(request) }?.isRetryable == true)
            #expect(await failure { try await provider.submit(request) }?.isRetryable == true)
            vertex.refuseGrants()
            let refused = await failure { try await provider.submit(request) }
            guard case .credentialRefused(let message)? = refused else {
                Issue.record("expected credentialRefused, got \(String(describing: refused))")
                return
            }
            #expect(message.contains("invalid_grant"))
            #expect(fake.requests(to: Self.modelPath).isEmpty)
        }
    }

    @Test func theFakeRefusesAnAssertionSignedWithAnotherKey() async throws {
        let vertex = try FakeVertex()
        let impostor = try FakeVertex()
        try await withFake(vertex.routes) { fake in
            let file = try Self.writeKeyFile(impostor.serviceAccountJSON(tokenURI: fake.origin + "/token"))
            defer { try? FileManager.default.removeItem(at: file) }
            let definition = CredentialDefinition(
                name: "veo-vertex", provider: "veo", route: "vertex", baseURL: fake.origin + "/v1", serviceAccountFile: file.path,
                project: vertex.project, location: vertex.location)
            let provider = BoundProvider(VeoProvider(http: try testHTTP(), logger: quietLogger), try definition.resolve(environment: [:]))
            let refused = await failure { try await provider.submit(liveRequest(model: "veo-3.1-generate-preview", duration: 8)) }
            guard case .credentialRefused? = refused else {
                Issue.record("expected credentialRefused, got \(String(describing: refused))")
                return
            }
            #expect(fake.violations == ["token grant: Invalid JWT Signature."])
            #expect(vertex.grants == 0)
        }
    }

    @Test func safetyFilteredVideosAndRefusedPromptsAreContentPolicyViolations() async throws {
        try await withVertex { fake, _, provider, _ in
            let request = liveRequest(model: "veo-3.1-generate-preview", duration: 8)
            fake.finish(with: .policy)
            let submission = try await provider.submit(request)
            #expect(try await pollToEnd(provider, handle(submission, request)).failureCode == .contentPolicyViolation)
            fake.refuseCreatesForPolicy()
            #expect(await failure { try await provider.submit(request) }?.finalCode == .contentPolicyViolation)
        }
    }

    @Test func aFailedOperationIsAProviderError() async throws {
        try await withVertex { fake, _, provider, _ in
            fake.finish(with: .fail)
            let request = liveRequest(model: "veo-3.1-generate-preview", duration: 8)
            let submission = try await provider.submit(request)
            #expect(try await pollToEnd(provider, handle(submission, request)).failureCode == .providerError)
        }
    }

    @Test func unreadableServiceAccountFilesAreRefusedNamingTheField() throws {
        let vertex = try FakeVertex()
        var good = try #require(
            try JSONSerialization.jsonObject(with: vertex.serviceAccountJSON(tokenURI: "https://oauth2.googleapis.com/token")) as? [String: Any])
        var cases: [(Data?, String)] = [(nil, "cannot be read"), (Data("not json".utf8), "not a JSON object")]
        var wrongType = good
        wrongType["type"] = "authorized_user"
        var noKey = good
        noKey["private_key"] = nil
        var badKey = good
        badKey["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        good["token_uri"] = "file:///etc/passwd"
        for (object, expected) in [
            (wrongType, "type is not service_account"), (noKey, "has no private_key"), (badKey, "not an RSA private key"), (good, "token_uri"),
        ] {
            cases.append((try JSONSerialization.data(withJSONObject: object), expected))
        }
        for (data, expected) in cases {
            let file = try data.map(Self.writeKeyFile) ?? URL(fileURLWithPath: "/nonexistent/sa.json")
            defer { try? FileManager.default.removeItem(at: file) }
            let definition = CredentialDefinition(
                name: "veo-vertex", provider: "veo", route: "vertex", serviceAccountFile: file.path, project: "p", location: "us-central1")
            #expect {
                _ = try definition.resolve(environment: [:], field: "credentials[2]")
            } throws: { error in
                let text = (error as? ProvidersFileError)?.description ?? ""
                return text.hasPrefix("credentials[2].service_account_file:") && text.contains(expected) && !text.contains("BEGIN")
            }
        }
    }

    @Test func modelIDsAndTheStorageAPIFollowTheCredential() {
        #expect(VeoProvider.vertexModel("veo-3.1-generate-preview") == "veo-3.1-generate-001")
        #expect(VeoProvider.vertexModel("veo-3.1-fast-generate-preview") == "veo-3.1-fast-generate-001")
        #expect(VeoProvider.vertexModel("veo-3.1-lite-generate-preview") == "veo-3.1-lite-generate-preview")
        func credential(_ base: String) -> ProviderCredential {
            ProviderCredential(name: "v", provider: .veo, route: .vertex, baseURL: base, auth: .none)
        }
        #expect(
            VeoProvider.storageBaseURL(for: credential("https://us-central1-aiplatform.googleapis.com/v1"))
                == "https://storage.googleapis.com/storage/v1")
        #expect(VeoProvider.storageBaseURL(for: credential("http://127.0.0.1:8080/v1")) == "http://127.0.0.1:8080/storage/v1")
    }
}
