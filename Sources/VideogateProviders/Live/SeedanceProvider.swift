import Foundation
import Logging
import NIOHTTP1
import VideogateDomain

/// ByteDance Seedance through BytePlus ModelArk's content-generation task API.
///
/// - Auth: `Authorization: Bearer ARK_API_KEY`.
/// - Create: `POST /contents/generations/tasks` with `{"model", "content": [{"type": "text", "text"},
///   {"type": "image_url", "image_url": {"url"}, "role": "first_frame"}?], "ratio", "duration",
///   "resolution": "720p", "watermark": false, "callback_url"?}` (the image a URL or a `data:` URI;
///   `callback_url` when callbacks are on); answer `{"id"}`.
/// - Status: `GET /contents/generations/tasks/{id}`: `queued`, `running`, `succeeded`
///   (`content.video_url`), `failed` (`error.code`, `error.message`), `cancelled`, `expired`.
/// - Errors `{"error": {"code", "message", "type"}}`; content refusals have codes starting with
///   `InputTextSensitiveContentDetected`, `InputImageSensitiveContentDetected`,
///   `OutputVideoSensitiveContentDetected`.
/// - ModelArk documents no idempotency key or client task id: a crash between its answer and our
///   commit can leave a second upstream task (see the README).
public struct SeedanceProvider: VideoProvider {
    public let kind = ProviderKind.seedance
    public let schedule: PollSchedule
    let http: ProviderHTTP
    let logger: Logger

    /// Seedance 1.5 pro renders take about a minute.
    public static let defaultSchedule = PollSchedule(firstPoll: 30, interval: 10, maxInterval: 45)

    public init(http: ProviderHTTP, schedule: PollSchedule? = nil, logger: Logger) {
        self.http = http
        self.schedule = schedule ?? Self.defaultSchedule
        self.logger = logger
    }

    struct CreateBody: Encodable {
        struct Content: Encodable {
            struct ImageURL: Encodable { let url: String }
            let type: String
            let text: String?
            let image_url: ImageURL?
            let role: String?
        }
        let model: String
        let content: [Content]
        let ratio: String
        let duration: Int
        let resolution: String
        let watermark: Bool
        let callback_url: String?
    }

    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            let code: String?
            let message: String?
        }
        let error: Detail?
    }

    struct Task: Decodable {
        struct Content: Decodable { let video_url: String? }
        let id: String?
        let status: String?
        let content: Content?
        let error: ErrorBody.Detail?
    }

    func headers(_ credential: ProviderCredential) -> HTTPHeaders {
        ["Authorization": "Bearer \(credential.apiKey)", "Content-Type": "application/json"]
    }

    public func submit(_ request: ProviderRequest, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderSubmission {
        var content = [CreateBody.Content(type: "text", text: request.prompt, image_url: nil, role: nil)]
        if request.mode == .imageToVideo, let image = request.image {
            content.append(.init(type: "image_url", text: nil, image_url: .init(url: image.urlOrDataURI), role: "first_frame"))
        }
        let body = CreateBody(
            model: request.upstreamModel, content: content, ratio: request.aspectRatio.rawValue, duration: request.duration,
            resolution: "720p", watermark: false, callback_url: request.callbackURL)
        let response = try await http.send(.POST, credential.baseURL + "/contents/generations/tasks", headers: headers(credential), body: try encode(body))
        guard response.isSuccess else { throw failure(response) }
        guard let task = try? JSONDecoder().decode(Task.self, from: response.body), let id = task.id, !id.isEmpty else {
            throw .final(JobFailure(.providerError, "ModelArk accepted the task without a readable id."))
        }
        return ProviderSubmission(providerJobID: id, providerRequestID: response.headers.first(name: "x-request-id"))
    }

    public func poll(_ handle: ProviderHandle, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderPoll {
        let response = try await http.send(.GET, credential.baseURL + "/contents/generations/tasks/" + escape(handle.providerJobID), headers: headers(credential))
        guard response.isSuccess else { throw failure(response) }
        let task = try response.decode(Task.self, provider: "ModelArk")
        switch task.status {
        case "queued", "running":
            return .running(progress: nil)
        case "succeeded":
            guard let url = task.content?.video_url, !url.isEmpty else { throw .retryable("ModelArk reported success without a video_url", retryAfter: nil) }
            return .succeeded(ProviderResult(videoURL: url))
        case "failed":
            return .failed(jobFailure(code: task.error?.code, message: task.error?.message))
        case "cancelled":
            return .failed(JobFailure(.providerError, "Seedance cancelled the task."))
        case "expired":
            return .failed(JobFailure(.providerError, "Seedance let the task expire before it ran."))
        default:
            logger.warning("seedance task in an unknown state; polling on", metadata: ["state": .string(task.status ?? "none")])
            return .running(progress: nil)
        }
    }

    public func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL, on credential: ProviderCredential) async throws(ProviderFailure) {
        guard let url = result.videoURL else { throw .retryable("no Seedance video URL to fetch", retryAfter: nil) }
        try await http.fetchResultFile(url, headers: [], to: destination, provider: "Seedance")
    }

    static func isSensitive(_ code: String?) -> Bool {
        guard let code else { return false }
        return code.hasPrefix("InputTextSensitiveContentDetected") || code.hasPrefix("InputImageSensitiveContentDetected")
            || code.hasPrefix("OutputVideoSensitiveContentDetected") || code.contains("SensitiveContent")
    }

    func jobFailure(code: String?, message: String?) -> JobFailure {
        if Self.isSensitive(code) {
            return JobFailure(.contentPolicyViolation, "Seedance refused the content (\(code ?? "")): \(message ?? "sensitive content")")
        }
        return JobFailure(.providerError, "Seedance failed the task (\(code ?? "no code")): \(message ?? "no message")")
    }

    /// ModelArk's documented codes (docs/providers/errors.md); a dotted code without an entry takes
    /// its parent's (`RateLimitExceeded.EndpointRPMExceeded`, `InvalidParameter.Duration`).
    static let documentedClasses: [String: ErrorClass] = [
        "AuthenticationError": .credential,
        "InvalidAccountStatus": .credential,
        "AccessDenied": .credential,
        "AccountOverdueError": .credential,
        "OperationDenied.ServiceOverdue": .credential,
        "OperationDenied.ServiceNotOpen": .credential,
        "ModelNotOpen": .credential,
        "InvalidEndpointOrModel.ModelIDAccessDisabled": .credential,
        "InvalidEndpoint.ClosedEndpoint": .credential,
        "QuotaExceeded": .credential,
        "SetLimitExceeded": .credential,
        "RateLimitExceeded": .retryable,
        "ModelAccountRpmRateLimitExceeded": .retryable,
        "APIAccountRpmRateLimitExceeded": .retryable,
        "ModelAccountIpmRateLimitExceeded": .retryable,
        "AccountRateLimitExceeded": .retryable,
        "InflightBatchsizeExceeded": .retryable,
        "ServerOverloaded": .retryable,
        "RequestBurstTooFast": .retryable,
        "InternalServiceError": .retryable,
        "MissingParameter": .request,
        "InvalidParameter": .request,
        "InvalidImageURL": .request,
        "InvalidEndpointOrModel.NotFound": .request,
        "InvalidEndpoint.NotFound": .request,
        "NotFound": .request,
        "ResourceNotFound": .request,
    ]

    func failure(_ response: ProviderHTTP.Response) -> ProviderFailure {
        let detail = (try? JSONDecoder().decode(ErrorBody.self, from: response.body))?.error
        if Self.isSensitive(detail?.code) { return .final(jobFailure(code: detail?.code, message: detail?.message)) }
        let documented = ErrorClass.of(detail?.code, in: Self.documentedClasses)
        return response.failure(provider: "ModelArk", code: detail?.code, message: detail?.message, documented: documented)
    }
}
