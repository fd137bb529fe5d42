import Crypto
import Foundation
import Logging
import NIOHTTP1
import Synchronization
import VideogateDomain

/// Kling's video API (https://app.klingai.com/global/dev/document-api).
///
/// - Auth: `Authorization: Bearer JWT`, HS256 over `{"iss": ACCESS_KEY, "exp": now+1800, "nbf": now-5}`
///   with the secret key; renewed five minutes before it expires.
/// - Create: `POST /v1/videos/text2video` or `/v1/videos/image2video` with `model_name`, `prompt`,
///   `mode: "pro"`, `duration` as a string, `aspect_ratio` (text2video), `image` (a URL, or raw
///   base64 without a `data:` prefix), and `external_task_id` = our job id.
/// - Status: `GET` the same path + `/{task_id}`; the envelope `{"code": 0, "message", "request_id",
///   "data": {"task_id", "task_status", "task_status_msg", "task_result": {"videos": [{"url"}]}}}`;
///   states `submitted`, `processing`, `succeed`, `failed`.
/// - No double submission: the job id is sent as `external_task_id`, and a re-submission (a
///   crash after the create call) first looks the task up by that id on the same GET path.
///   What Kling answers to a *reused* external id is undocumented, so the look-up comes first.
public struct KlingProvider: VideoProvider {
    public let kind = ProviderKind.kling
    public let schedule: PollSchedule
    let http: ProviderHTTP
    let baseURL: String
    let tokens: KlingTokens
    let logger: Logger

    /// Kling renders take one to several minutes.
    public static let defaultSchedule = PollSchedule(firstPoll: 45, interval: 10, maxInterval: 60)

    public init(http: ProviderHTTP, baseURL: String, tokens: KlingTokens, schedule: PollSchedule? = nil, logger: Logger) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.tokens = tokens
        self.schedule = schedule ?? Self.defaultSchedule
        self.logger = logger
    }

    struct CreateBody: Encodable {
        let model_name: String
        let prompt: String
        let mode: String
        let duration: String
        let aspect_ratio: String?
        let image: String?
        let external_task_id: String
    }

    struct Envelope: Decodable {
        let code: Int
        let message: String?
        let request_id: String?
        let data: TaskData?
    }

    struct TaskData: Decodable {
        let task_id: String?
        let task_status: String?
        let task_status_msg: String?
        let task_result: TaskResult?
    }

    struct TaskResult: Decodable {
        struct Video: Decodable { let url: String? }
        let videos: [Video]?
    }

    func path(_ mode: GenerationMode) -> String {
        mode == .imageToVideo ? "/v1/videos/image2video" : "/v1/videos/text2video"
    }

    func headers() -> HTTPHeaders {
        ["Authorization": "Bearer \(tokens.token())", "Content-Type": "application/json"]
    }

    public func submit(_ request: ProviderRequest) async throws(ProviderFailure) -> ProviderSubmission {
        if request.resubmission, let existing = try await lookUp(externalID: request.jobID, mode: request.mode) {
            logger.info("kling task found by external_task_id; not submitting again", metadata: ["job_id": .string(request.jobID)])
            return existing
        }
        var image: String?
        if let source = request.image {
            switch source {
            case .url(let url): image = url
            case .bytes(let data, _): image = data.base64EncodedString()
            }
        }
        let body = CreateBody(
            model_name: request.upstreamModel, prompt: request.prompt, mode: "pro", duration: String(request.duration),
            aspect_ratio: request.mode == .textToVideo ? request.aspectRatio.rawValue : nil, image: image, external_task_id: request.jobID)
        let response = try await http.send(.POST, baseURL + path(request.mode), headers: headers(), body: try encode(body))
        let envelope = try? JSONDecoder().decode(Envelope.self, from: response.body)
        guard response.isSuccess, let envelope, envelope.code == 0 else {
            throw failure(response, envelope)
        }
        guard let taskID = envelope.data?.task_id, !taskID.isEmpty else {
            throw .final(JobFailure(.providerError, "Kling accepted the task without a task_id."))
        }
        return ProviderSubmission(providerJobID: taskID, providerRequestID: envelope.request_id)
    }

    /// The task created earlier for this job, if Kling has one.
    func lookUp(externalID: String, mode: GenerationMode) async throws(ProviderFailure) -> ProviderSubmission? {
        let response = try await http.send(.GET, baseURL + path(mode) + "/" + escape(externalID), headers: headers())
        let envelope = try? JSONDecoder().decode(Envelope.self, from: response.body)
        if response.isSuccess, let envelope, envelope.code == 0, let taskID = envelope.data?.task_id {
            return ProviderSubmission(providerJobID: taskID, providerRequestID: envelope.request_id)
        }
        if response.status == 404 || envelope?.code == 1203 || (response.status == 400 && envelope != nil) { return nil }
        throw failure(response, envelope)
    }

    public func poll(_ handle: ProviderHandle) async throws(ProviderFailure) -> ProviderPoll {
        let url = baseURL + path(handle.request.mode) + "/" + escape(handle.providerJobID)
        let response = try await http.send(.GET, url, headers: headers())
        guard response.isSuccess else {
            throw failure(response, try? JSONDecoder().decode(Envelope.self, from: response.body))
        }
        let envelope = try response.decode(Envelope.self, provider: "Kling")
        guard envelope.code == 0, let data = envelope.data else { throw failure(response, envelope) }
        switch data.task_status {
        case "submitted", "processing":
            return .running(progress: nil)
        case "succeed":
            guard let url = data.task_result?.videos?.first?.url, !url.isEmpty else {
                throw .retryable("Kling reported success without a video URL", retryAfter: nil)
            }
            return .succeeded(ProviderResult(videoURL: url))
        case "failed":
            let reason = data.task_status_msg ?? "no reason given"
            if PolicyWords.mentionsPolicy(reason) {
                return .failed(JobFailure(.contentPolicyViolation, "Kling refused the content: \(reason)"))
            }
            return .failed(JobFailure(.providerError, "Kling failed the task: \(reason)"))
        default:
            logger.warning("kling task in an unknown state; polling on", metadata: ["state": .string(data.task_status ?? "none")])
            return .running(progress: nil)
        }
    }

    public func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL) async throws(ProviderFailure) {
        guard let url = result.videoURL else { throw .retryable("no Kling video URL to fetch", retryAfter: nil) }
        try await http.fetchResultFile(url, headers: [], to: destination, provider: "Kling")
    }

    /// Kling's error codes: auth 1000–1004, account 1100–1102, parameters 1200–1203, content
    /// policy 1301, rate and concurrency 1302/1303, server 5000–5002.
    func failure(_ response: ProviderHTTP.Response, _ envelope: Envelope?) -> ProviderFailure {
        let code = envelope?.code
        let message = envelope?.message
        switch code {
        case 1301?:
            return .final(JobFailure(.contentPolicyViolation, "Kling refused the content (code 1301): \(message ?? "content policy")"))
        case 1302?, 1303?, 5000?, 5001?, 5002?:
            return .retryable("Kling answered code \(code!) (\(message ?? ""))", retryAfter: response.retryAfter)
        case let code? where (1000...1004).contains(code) || (1100...1102).contains(code) || (1200...1203).contains(code):
            return .final(JobFailure(.providerError, "Kling refused the task (code \(code)): \(message ?? "no message")"))
        default:
            if response.isSuccess {
                return .final(JobFailure(.providerError, "Kling answered code \(code.map(String.init) ?? "none"): \(message ?? "no message")"))
            }
            return response.failure(provider: "Kling", code: code.map(String.init), message: message)
        }
    }
}

/// Kling's short-lived JWTs, made from the access and secret keys and reused until five minutes
/// before they expire.
public final class KlingTokens: Sendable {
    private let accessKey: String
    private let secretKey: SymmetricKey
    private let cached = Mutex<(token: String, expires: Date)?>(nil)
    private let now: @Sendable () -> Date

    public init(accessKey: String, secretKey: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.accessKey = accessKey
        self.secretKey = SymmetricKey(data: Data(secretKey.utf8))
        self.now = now
    }

    /// A token valid for at least five more minutes.
    public func token() -> String {
        let instant = now()
        return cached.withLock { cached in
            if let cached, cached.expires.timeIntervalSince(instant) > 300 { return cached.token }
            let issued = Int(instant.timeIntervalSince1970)
            let token = Self.sign(claims: ["iss": .string(accessKey), "exp": .int(issued + 1800), "nbf": .int(issued - 5)], key: secretKey)
            cached = (token, Date(timeIntervalSince1970: TimeInterval(issued + 1800)))
            return token
        }
    }

    enum Claim {
        case string(String)
        case int(Int)
    }

    static func sign(claims: KeyValuePairs<String, Claim>, key: SymmetricKey) -> String {
        let header = #"{"alg":"HS256","typ":"JWT"}"#
        let body = "{" + claims.map { name, value in
            switch value {
            case .string(let text): "\"\(name)\":\(jsonString(text))"
            case .int(let number): "\"\(name)\":\(number)"
            }
        }.joined(separator: ",") + "}"
        let signingInput = base64URL(Data(header.utf8)) + "." + base64URL(Data(body.utf8))
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return signingInput + "." + base64URL(Data(signature))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func jsonString(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Shared by the adapters: a path segment escaped, and a body encoded.
func escape(_ segment: String) -> String {
    segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? segment
}

func encode(_ body: some Encodable) throws(ProviderFailure) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    do { return try encoder.encode(body) } catch { throw .final(JobFailure(.internalError, "The request could not be encoded: \(error)")) }
}
