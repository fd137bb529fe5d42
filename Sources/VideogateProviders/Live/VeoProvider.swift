import Foundation
import Logging
import NIOHTTP1
import VideogateDomain

/// Google Veo through the Gemini API (https://ai.google.dev/gemini-api/docs/video); credentials on
/// the route `vertex` go through Vertex AI instead (`VeoProvider+Vertex.swift`).
///
/// - Auth: `x-goog-api-key: KEY`.
/// - Create: `POST /models/{model}:predictLongRunning` with `{"instances": [{"prompt", "image"?:
///   {"bytesBase64Encoded", "mimeType"}}], "parameters": {"aspectRatio", "durationSeconds"}}`. This
///   API's image form takes bytes only, so an image URL is fetched here under the outbound rules.
/// - The answer is a long-running operation `{"name": "models/M/operations/ID"}`, polled with
///   `GET /{name}` until `"done": true`: then `error` `{code, message}`, or
///   `response.generateVideoResponse.generatedSamples[0].video.uri` (downloaded with the same key;
///   only when the URI is on the configured Gemini origin; it may redirect, and the key is not sent
///   to another host), or no samples with
///   `raiMediaFilteredCount` / `raiMediaFilteredReasons` (a safety refusal).
/// - The Gemini API has no idempotency key for this call: a crash between its answer and our
///   commit can leave a second upstream operation (see the README).
public struct VeoProvider: VideoProvider {
    public let kind = ProviderKind.veo
    public let schedule: PollSchedule
    let http: ProviderHTTP
    let logger: Logger

    /// Veo 3.1 renders take one to a few minutes.
    public static let defaultSchedule = PollSchedule(firstPoll: 40, interval: 10, maxInterval: 45)

    public init(http: ProviderHTTP, schedule: PollSchedule? = nil, logger: Logger) {
        self.http = http
        self.schedule = schedule ?? Self.defaultSchedule
        self.logger = logger
    }

    struct CreateBody: Encodable {
        struct Instance: Encodable {
            struct Image: Encodable {
                let bytesBase64Encoded: String
                let mimeType: String
            }
            let prompt: String
            let image: Image?
        }
        struct Parameters: Encodable {
            let aspectRatio: String
            let durationSeconds: Int
        }
        let instances: [Instance]
        let parameters: Parameters
    }

    struct Operation: Decodable {
        struct Failure: Decodable {
            /// A `google.rpc.ErrorInfo` (or another detail, whose `reason` is then nil).
            struct Detail: Decodable { let reason: String? }
            let code: Int?
            let message: String?
            let status: String?
            let details: [Detail]?
        }
        struct Response: Decodable {
            struct Generated: Decodable {
                struct Sample: Decodable {
                    struct Video: Decodable { let uri: String? }
                    let video: Video?
                }
                let generatedSamples: [Sample]?
                let raiMediaFilteredCount: Int?
                let raiMediaFilteredReasons: [String]?
            }
            let generateVideoResponse: Generated?
        }
        let name: String?
        let done: Bool?
        let error: Failure?
        let response: Response?
    }

    struct ErrorBody: Decodable { let error: Operation.Failure? }

    func headers(_ credential: ProviderCredential) -> HTTPHeaders {
        ["x-goog-api-key": credential.apiKey, "Content-Type": "application/json"]
    }

    public func submit(_ request: ProviderRequest, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderSubmission {
        if credential.route == .vertex { return try await vertexSubmit(request, on: credential) }
        var image: CreateBody.Instance.Image?
        if request.mode == .imageToVideo, let source = request.image {
            let (data, mediaType) = try await http.imageBytes(source, limits: ImageLimits.of(.veo), provider: .veo)
            image = .init(bytesBase64Encoded: data.base64EncodedString(), mimeType: mediaType)
        }
        let body = CreateBody(
            instances: [.init(prompt: request.prompt, image: image)],
            parameters: .init(aspectRatio: request.aspectRatio == .portrait ? "9:16" : "16:9", durationSeconds: request.duration))
        let url = credential.baseURL + "/models/" + escape(request.upstreamModel) + ":predictLongRunning"
        let response = try await http.send(.POST, url, headers: headers(credential), body: try encode(body))
        guard response.isSuccess else { throw failure(response) }
        guard let operation = try? JSONDecoder().decode(Operation.self, from: response.body), let name = operation.name, !name.isEmpty else {
            throw .final(JobFailure(.providerError, "The Gemini API accepted the request without a readable operation name."))
        }
        return ProviderSubmission(providerJobID: name, providerRequestID: response.headers.first(name: "x-goog-request-id"))
    }

    public func poll(_ handle: ProviderHandle, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderPoll {
        if credential.route == .vertex { return try await vertexPoll(handle, on: credential) }
        // The operation name is a path (`models/M/operations/ID`): its slashes stay.
        let name = handle.providerJobID.split(separator: "/").map { escape(String($0)) }.joined(separator: "/")
        let response = try await http.send(.GET, credential.baseURL + "/" + name, headers: headers(credential))
        guard response.isSuccess else { throw failure(response) }
        let operation = try response.decode(Operation.self, provider: "The Gemini API")
        guard operation.done == true else { return .running(progress: nil) }
        if let error = operation.error {
            let message = error.message ?? "no message"
            if PolicyWords.mentionsPolicy(message) {
                return .failed(JobFailure(.contentPolicyViolation, "Veo refused the content: \(message)"))
            }
            return .failed(JobFailure(.providerError, "Veo failed the operation (\(error.status ?? error.code.map(String.init) ?? "error")): \(message)"))
        }
        let generated = operation.response?.generateVideoResponse
        if let uri = generated?.generatedSamples?.first?.video?.uri, !uri.isEmpty {
            return .succeeded(ProviderResult(videoURL: uri))
        }
        if (generated?.raiMediaFilteredCount ?? 0) > 0 || !(generated?.raiMediaFilteredReasons ?? []).isEmpty {
            let reasons = (generated?.raiMediaFilteredReasons ?? []).joined(separator: " ")
            return .failed(JobFailure(.contentPolicyViolation, "Veo's safety filters removed the video: \(reasons.isEmpty ? "no reason given" : reasons)"))
        }
        return .failed(JobFailure(.providerError, "Veo finished the operation without a video."))
    }

    /// Downloads the video URI under the outbound rules. The key goes only to the configured Gemini
    /// origin: a URI on any other scheme, host or port (a response can name any) is fetched without it.
    public func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL, on credential: ProviderCredential) async throws(ProviderFailure) {
        if credential.route == .vertex { return try await vertexFetchResult(result, to: destination, on: credential) }
        guard let url = result.videoURL else { throw .retryable("no Veo video URI to fetch", retryAfter: nil) }
        let headers = sendsKey(to: url, on: credential) ? [("x-goog-api-key", credential.apiKey)] : []
        try await http.fetchResultFile(url, headers: headers, to: destination, provider: "Veo")
    }

    /// True when `url` has the configured base URL's scheme, host and port (the scheme's default port
    /// when none is written): only then does a download carry the Gemini key.
    public func sendsKey(to url: String, on credential: ProviderCredential) -> Bool { Self.sameOrigin(url, credential.baseURL) }

    private static func sameOrigin(_ first: String, _ second: String) -> Bool {
        func origin(_ url: String) -> (scheme: String, host: String, port: Int)? {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                let host = components.host?.lowercased(), !host.isEmpty
            else { return nil }
            let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
            guard let port = components.port ?? defaultPort else { return nil }
            return (scheme, host, port)
        }
        guard let first = origin(first), let second = origin(second) else { return false }
        return first == second
    }

    /// The Gemini API's `google.rpc` statuses (docs/providers/errors.md). `FAILED_PRECONDITION` is
    /// the project's billing or region; a bad or expired key is `INVALID_ARGUMENT` with the
    /// `ErrorInfo` reason `API_KEY_INVALID`, see `keyReasons`.
    static let documentedClasses: [String: ErrorClass] = [
        "UNAUTHENTICATED": .credential,
        "PERMISSION_DENIED": .credential,
        "FAILED_PRECONDITION": .credential,
        "RESOURCE_EXHAUSTED": .retryable,
        "INTERNAL": .retryable,
        "UNAVAILABLE": .retryable,
        "DEADLINE_EXCEEDED": .retryable,
        "INVALID_ARGUMENT": .request,
        "NOT_FOUND": .request,
    ]

    /// `ErrorInfo` reasons that blame the key whatever the status.
    static let keyReasons: Set<String> = ["API_KEY_INVALID", "API_KEY_EXPIRED"]

    func failure(_ response: ProviderHTTP.Response) -> ProviderFailure {
        let detail = (try? JSONDecoder().decode(ErrorBody.self, from: response.body))?.error
        let refusesKey = detail?.details?.contains { Self.keyReasons.contains($0.reason ?? "") } ?? false
        let documented: ErrorClass? = refusesKey ? .credential : ErrorClass.of(detail?.status, in: Self.documentedClasses)
        if response.status == 400, (documented ?? .request) == .request, PolicyWords.mentionsPolicy(detail?.message) {
            return .final(JobFailure(.contentPolicyViolation, "Veo refused the content: \(detail?.message ?? "")"))
        }
        return response.failure(provider: "The Gemini API", code: detail?.status, message: detail?.message, documented: documented)
    }
}
