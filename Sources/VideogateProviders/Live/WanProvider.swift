import Foundation
import Logging
import NIOHTTP1
import VideogateDomain

/// Alibaba WAN through DashScope's asynchronous video-synthesis API (Model Studio, international).
///
/// - Auth: `Authorization: Bearer KEY`.
/// - Create: `POST /services/aigc/video-generation/video-synthesis` with `X-DashScope-Async: enable`;
///   text-to-video `{"model", "input": {"prompt"}, "parameters": {"size": "1280*720", "duration"}}`,
///   image-to-video `{"model", "input": {"prompt", "img_url"}, "parameters": {"resolution": "720P", "duration"}}`
///   (`img_url` a URL or a `data:` URI). Answer `{"output": {"task_id", "task_status"}, "request_id"}`;
///   errors `{"code", "message", "request_id"}`.
/// - Status: `GET /tasks/{task_id}`: `PENDING`, `RUNNING`, `SUCCEEDED` (`output.video_url`),
///   `FAILED` (`output.code`, `output.message`; moderation codes such as `DataInspectionFailed`),
///   `CANCELED`, `UNKNOWN` (an unknown or expired task id).
/// - DashScope has no idempotency key or client task id: a crash between its answer and our
///   commit can leave a second upstream task (see the README).
public struct WanProvider: VideoProvider {
    public let kind = ProviderKind.wan
    public let schedule: PollSchedule
    let http: ProviderHTTP
    let logger: Logger

    /// WAN 2.5 renders take a few minutes.
    public static let defaultSchedule = PollSchedule(firstPoll: 60, interval: 15, maxInterval: 60)

    public init(http: ProviderHTTP, schedule: PollSchedule? = nil, logger: Logger) {
        self.http = http
        self.schedule = schedule ?? Self.defaultSchedule
        self.logger = logger
    }

    struct CreateBody: Encodable {
        struct Input: Encodable {
            let prompt: String
            let img_url: String?
        }
        struct Parameters: Encodable {
            let size: String?
            let resolution: String?
            let duration: Int
        }
        let model: String
        let input: Input
        let parameters: Parameters
    }

    struct Answer: Decodable {
        struct Output: Decodable {
            let task_id: String?
            let task_status: String?
            let video_url: String?
            let code: String?
            let message: String?
        }
        let output: Output?
        let request_id: String?
        let code: String?
        let message: String?
    }

    /// The 720P size of each aspect ratio, in DashScope's `W*H` form.
    static func size(_ ratio: AspectRatio) -> String {
        switch ratio {
        case .landscape: "1280*720"
        case .portrait: "720*1280"
        case .square: "960*960"
        }
    }

    public func submit(_ request: ProviderRequest, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderSubmission {
        let body: CreateBody
        if request.mode == .imageToVideo, let image = request.image {
            body = CreateBody(
                model: request.upstreamModel, input: .init(prompt: request.prompt, img_url: image.urlOrDataURI),
                parameters: .init(size: nil, resolution: "720P", duration: request.duration))
        } else {
            body = CreateBody(
                model: request.upstreamModel, input: .init(prompt: request.prompt, img_url: nil),
                parameters: .init(size: Self.size(request.aspectRatio), resolution: nil, duration: request.duration))
        }
        let headers: HTTPHeaders = ["Authorization": "Bearer \(credential.apiKey)", "Content-Type": "application/json", "X-DashScope-Async": "enable"]
        let response = try await http.send(.POST, credential.baseURL + "/services/aigc/video-generation/video-synthesis", headers: headers, body: try encode(body))
        let answer = try? JSONDecoder().decode(Answer.self, from: response.body)
        guard response.isSuccess else { throw failure(response, code: answer?.code, message: answer?.message) }
        guard let answer, let taskID = answer.output?.task_id, !taskID.isEmpty else {
            throw .final(JobFailure(.providerError, "DashScope accepted the task without a readable task_id."))
        }
        return ProviderSubmission(providerJobID: taskID, providerRequestID: answer.request_id)
    }

    public func poll(_ handle: ProviderHandle, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderPoll {
        let response = try await http.send(.GET, credential.baseURL + "/tasks/" + escape(handle.providerJobID), headers: ["Authorization": "Bearer \(credential.apiKey)"])
        guard response.isSuccess else {
            let answer = try? JSONDecoder().decode(Answer.self, from: response.body)
            throw failure(response, code: answer?.code, message: answer?.message)
        }
        let output = try response.decode(Answer.self, provider: "DashScope").output
        switch output?.task_status {
        case "PENDING", "RUNNING":
            return .running(progress: nil)
        case "SUCCEEDED":
            guard let url = output?.video_url, !url.isEmpty else { throw .retryable("DashScope reported success without a video_url", retryAfter: nil) }
            return .succeeded(ProviderResult(videoURL: url))
        case "FAILED":
            let code = output?.code ?? "unknown"
            let message = output?.message ?? "no message"
            if Self.isModeration(code) || PolicyWords.mentionsPolicy(message) {
                return .failed(JobFailure(.contentPolicyViolation, "WAN refused the content (\(code)): \(message)"))
            }
            return .failed(JobFailure(.providerError, "WAN failed the task (\(code)): \(message)"))
        case "CANCELED":
            return .failed(JobFailure(.providerError, "WAN cancelled the task."))
        case "UNKNOWN":
            return .failed(JobFailure(.providerError, "DashScope no longer knows the task (UNKNOWN: unknown or expired task id)."))
        default:
            logger.warning("wan task in an unknown state; polling on", metadata: ["state": .string(output?.task_status ?? "none")])
            return .running(progress: nil)
        }
    }

    public func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL, on credential: ProviderCredential) async throws(ProviderFailure) {
        guard let url = result.videoURL else { throw .retryable("no WAN video URL to fetch", retryAfter: nil) }
        try await http.fetchResultFile(url, headers: [], to: destination, provider: "WAN")
    }

    static func isModeration(_ code: String) -> Bool {
        code.hasPrefix("DataInspection") || code.contains("Inappropriate") || code.contains("Moderation")
    }

    /// DashScope's documented codes (docs/providers/errors.md). `Arrearage` comes with HTTP 400 and
    /// `InternalError.*` need not come with a 5xx, so the code decides before the status.
    static let documentedClasses: [String: ErrorClass] = [
        "InvalidApiKey": .credential,
        "AccessDenied": .credential,
        "AccessDenied.Unpurchased": .credential,
        "Arrearage": .credential,
        "AllocationQuota.FreeTierOnly": .credential,
        "AllocationQuota.FreeExceeded": .credential,
        "PrepaidBillOverdue": .credential,
        "PostpaidBillOverdue": .credential,
        "CommodityNotPurchased": .credential,
        "WorkSpaceNotFound": .credential,
        "Throttling": .retryable,
        "Throttling.RateQuota": .retryable,
        "Throttling.AllocationQuota": .retryable,
        "InternalError": .retryable,
        "SystemError": .retryable,
        "ModelUnavailable": .retryable,
        "RequestTimeOut": .retryable,
        "InvalidParameter": .request,
        "BadRequest": .request,
        "InvalidURL": .request,
        "ModelNotFound": .request,
        "UnsupportedOperation": .request,
    ]

    func failure(_ response: ProviderHTTP.Response, code: String?, message: String?) -> ProviderFailure {
        if let code, Self.isModeration(code) {
            return .final(JobFailure(.contentPolicyViolation, "WAN refused the content (\(code)): \(message ?? "content moderation")"))
        }
        let documented = ErrorClass.of(code, in: Self.documentedClasses)
        if response.isSuccess && documented == nil {
            return .final(JobFailure(.providerError, "DashScope answered \(code ?? "no code"): \(message ?? "no message")"))
        }
        return response.failure(provider: "DashScope", code: code, message: message, documented: documented)
    }
}
