import Foundation
import Logging
import MultipartKit
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import VideogateDomain

/// OpenAI Sora through the OpenAI Videos wire format, at a configurable base URL. OpenAI shut its
/// own Videos API down on 2026-09-24; Azure OpenAI's v1 API (`api-key` header) and other
/// upstreams serve the same format, so base URL and auth header style are settings.
///
/// - Create: `POST /videos` as `multipart/form-data` (what the official SDK sends) with `model`,
///   `prompt`, `seconds` (a string), `size` (`1280x720` or `720x1280`) and, for a start image,
///   `input_reference` as a file whose pixel size equals `size` (the image is fitted here with ffmpeg).
/// - Status: `GET /videos/{id}`: `queued`, `in_progress` (with `progress`), `completed`, `failed`
///   (`error.code`, `error.message`; moderation refusals mention moderation).
/// - Result: `GET /videos/{id}/content` with the key.
/// - Errors `{"error": {"message", "type", "param", "code"}}`.
/// - The Videos API documents no idempotency key: a crash between its answer and our commit can
///   leave a second upstream video (see the README).
public struct SoraProvider: VideoProvider {
    /// How the key is sent.
    public enum AuthStyle: String, Sendable {
        /// `Authorization: Bearer KEY` (OpenAI and most upstreams).
        case bearer
        /// `api-key: KEY` (Azure OpenAI).
        case apiKey = "api-key"
    }

    public let kind = ProviderKind.sora
    public let schedule: PollSchedule
    let http: ProviderHTTP
    let probe: MediaProbe
    let logger: Logger

    /// Sora 2 renders take one to several minutes.
    public static let defaultSchedule = PollSchedule(firstPoll: 45, interval: 10, maxInterval: 60)

    public init(
        http: ProviderHTTP, probe: MediaProbe = MediaProbe(),
        schedule: PollSchedule? = nil, logger: Logger
    ) {
        self.http = http
        self.probe = probe
        self.schedule = schedule ?? Self.defaultSchedule
        self.logger = logger
    }

    struct Video: Decodable {
        struct Failure: Decodable {
            let code: String?
            let message: String?
        }
        let id: String?
        let status: String?
        let progress: Int?
        let error: Failure?
    }

    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            let message: String?
            let type: String?
            let code: String?
        }
        let error: Detail?
    }

    func authHeaders(_ credential: ProviderCredential) -> HTTPHeaders {
        if case .openAI(let key, .apiKey) = credential.auth { return ["api-key": key] }
        return ["Authorization": "Bearer \(credential.apiKey)"]
    }

    /// `WIDTHxHEIGHT` of an aspect ratio at Sora's 720p sizes.
    static func size(_ ratio: AspectRatio) -> (width: Int, height: Int) {
        switch ratio {
        case .portrait: (720, 1280)
        case .landscape: (1280, 720)
        case .square: (720, 720)
        }
    }

    public func submit(_ request: ProviderRequest, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderSubmission {
        let (width, height) = Self.size(request.aspectRatio)
        var form = MultipartForm()
        form.add("model", request.upstreamModel)
        form.add("prompt", request.prompt)
        form.add("seconds", String(request.duration))
        form.add("size", "\(width)x\(height)")
        if request.mode == .imageToVideo, let source = request.image {
            let (data, _) = try await http.imageBytes(source)
            let fitted: Data
            do {
                fitted = try await probe.fitImage(data, width: width, height: height)
            } catch {
                throw .final(JobFailure(.invalidImage, "The start image could not be decoded: \(error.description)"))
            }
            form.addFile("input_reference", filename: "input_reference.png", contentType: "image/png", data: fitted)
        }
        var headers = authHeaders(credential)
        headers.add(name: "Content-Type", value: form.contentType)
        let response = try await http.send(.POST, credential.baseURL + "/videos", headers: headers, body: form.body())
        guard response.isSuccess else { throw failure(response) }
        guard let video = try? JSONDecoder().decode(Video.self, from: response.body), let id = video.id, !id.isEmpty else {
            throw .final(JobFailure(.providerError, "The Videos API accepted the request without a readable video id."))
        }
        return ProviderSubmission(providerJobID: id, providerRequestID: response.headers.first(name: "x-request-id"))
    }

    public func poll(_ handle: ProviderHandle, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderPoll {
        let response = try await http.send(.GET, credential.baseURL + "/videos/" + escape(handle.providerJobID), headers: authHeaders(credential))
        guard response.isSuccess else { throw failure(response) }
        let video = try response.decode(Video.self, provider: "The Videos API")
        switch video.status {
        case "queued", "in_progress":
            return .running(progress: video.progress.map { min(100, max(0, $0)) })
        case "completed":
            return .succeeded(ProviderResult())
        case "failed":
            let code = video.error?.code ?? "failed"
            let message = video.error?.message ?? "no message"
            if PolicyWords.mentionsPolicy(code) || PolicyWords.mentionsPolicy(message) {
                return .failed(JobFailure(.contentPolicyViolation, "Sora refused the content (\(code)): \(message)"))
            }
            return .failed(JobFailure(.providerError, "Sora failed the video (\(code)): \(message)"))
        default:
            logger.warning("sora video in an unknown state; polling on", metadata: ["state": .string(video.status ?? "none")])
            return .running(progress: nil)
        }
    }

    public func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL, on credential: ProviderCredential) async throws(ProviderFailure) {
        let url = credential.baseURL + "/videos/" + escape(handle.providerJobID) + "/content?variant=video"
        try await http.download(url, headers: authHeaders(credential), to: destination, provider: "Sora")
    }

    /// The OpenAI API's documented codes and types (docs/providers/errors.md; `invalid_request_error`
    /// is left to the status, since 401s and 404s carry it too). Both 429s differ only
    /// here: `rate_limit_exceeded` passes, `insufficient_quota` (no credit, or the monthly spend
    /// limit) stays until someone pays, so it refuses the credential.
    static let documentedClasses: [String: ErrorClass] = [
        "invalid_api_key": .credential,
        "invalid_authentication": .credential,
        "account_deactivated": .credential,
        "unsupported_country_region_territory": .credential,
        "insufficient_quota": .credential,
        "credit_balance_exhausted": .credential,
        "billing_hard_limit_reached": .credential,
        "rate_limit_exceeded": .retryable,
        "slow_down": .retryable,
        "server_is_overloaded": .retryable,
        "server_error": .retryable,
        "video_not_found": .request,
    ]

    func failure(_ response: ProviderHTTP.Response) -> ProviderFailure {
        let detail = (try? JSONDecoder().decode(ErrorBody.self, from: response.body))?.error
        // The code first: a billing refusal can carry `type: insufficient_quota` with a more precise code.
        let documented = ErrorClass.of(detail?.code, in: Self.documentedClasses) ?? ErrorClass.of(detail?.type, in: Self.documentedClasses)
        if response.status == 400, (documented ?? .request) == .request, PolicyWords.mentionsPolicy(detail?.code) || PolicyWords.mentionsPolicy(detail?.message) {
            return .final(JobFailure(.contentPolicyViolation, "Sora refused the content (\(detail?.code ?? "moderation")): \(detail?.message ?? "")"))
        }
        return response.failure(provider: "The Videos API", code: detail?.code ?? detail?.type, message: detail?.message, documented: documented)
    }
}

/// A `multipart/form-data` body (RFC 7578), framed by multipart-kit's `MultipartSerializer`.
struct MultipartForm {
    let boundary = "videogate-" + UUID().uuidString
    private var parts: [MultipartPart] = []

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func add(_ name: String, _ value: String) {
        parts.append(MultipartPart(headers: ["Content-Disposition": "form-data; name=\"\(name)\""], body: value))
    }

    mutating func addFile(_ name: String, filename: String, contentType: String, data: Data) {
        let headers: HTTPHeaders = [
            "Content-Disposition": "form-data; name=\"\(name)\"; filename=\"\(filename)\"", "Content-Type": contentType,
        ]
        parts.append(MultipartPart(headers: headers, body: ByteBuffer(data: data)))
    }

    func body() -> Data {
        var buffer = ByteBuffer()
        // Serializing into a buffer cannot fail: the signature throws for other encoders' sake.
        try? MultipartSerializer().serialize(parts: parts, boundary: boundary, into: &buffer)
        return Data(buffer: buffer)
    }
}
