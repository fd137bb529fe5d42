import Foundation
import JWTKit
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
///   base64 without a `data:` prefix), `external_task_id` = our job id, and `callback_url` when
///   callbacks are on (Kling then POSTs the task object there on each status change).
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
    let logger: Logger

    /// Kling renders take one to several minutes.
    public static let defaultSchedule = PollSchedule(firstPoll: 45, interval: 10, maxInterval: 60)

    public init(http: ProviderHTTP, schedule: PollSchedule? = nil, logger: Logger) {
        self.http = http
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
        let callback_url: String?
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

    func headers(_ credential: ProviderCredential) async throws(ProviderFailure) -> HTTPHeaders {
        guard case .kling(let tokens) = credential.auth else {
            throw .credentialRefused("the credential '\(credential.name)' has no Kling access and secret key")
        }
        return ["Authorization": "Bearer \(try await tokens.token())", "Content-Type": "application/json"]
    }

    public func submit(_ request: ProviderRequest, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderSubmission {
        if request.resubmission, let existing = try await lookUp(externalID: request.jobID, mode: request.mode, on: credential) {
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
            aspect_ratio: request.mode == .textToVideo ? request.aspectRatio.rawValue : nil, image: image, external_task_id: request.jobID,
            callback_url: request.callbackURL)
        let response = try await http.send(.POST, credential.baseURL + path(request.mode), headers: try await headers(credential), body: try encode(body))
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
    func lookUp(externalID: String, mode: GenerationMode, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderSubmission? {
        let response = try await http.send(.GET, credential.baseURL + path(mode) + "/" + escape(externalID), headers: try await headers(credential))
        let envelope = try? JSONDecoder().decode(Envelope.self, from: response.body)
        if response.isSuccess, let envelope, envelope.code == 0, let taskID = envelope.data?.task_id {
            return ProviderSubmission(providerJobID: taskID, providerRequestID: envelope.request_id)
        }
        if response.status == 404 || envelope?.code == 1203 || (response.status == 400 && envelope != nil) { return nil }
        throw failure(response, envelope)
    }

    public func poll(_ handle: ProviderHandle, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderPoll {
        let url = credential.baseURL + path(handle.request.mode) + "/" + escape(handle.providerJobID)
        let response = try await http.send(.GET, url, headers: try await headers(credential))
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

    public func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL, on credential: ProviderCredential) async throws(ProviderFailure) {
        guard let url = result.videoURL else { throw .retryable("no Kling video URL to fetch", retryAfter: nil) }
        try await http.fetchResultFile(url, headers: [], to: destination, provider: "Kling")
    }

    /// Kling's service codes (docs/providers/errors.md): auth 1000–1004 and account 1100–1103 and
    /// the IP allow-list 1304 refuse the credential; rate and concurrency 1302/1303 and server
    /// 5000–5002 are retryable; content policy 1301 is the caller's, as are parameters 1200–1203 and
    /// the platform strategy 1300.
    static func documentedClass(_ code: Int) -> ErrorClass? {
        switch code {
        case 1000...1004, 1100...1103, 1304: .credential
        case 1302, 1303, 5000...5002: .retryable
        case 1200...1203, 1300: .request
        default: nil
        }
    }

    func failure(_ response: ProviderHTTP.Response, _ envelope: Envelope?) -> ProviderFailure {
        let code = envelope?.code
        let message = envelope?.message
        if code == 1301 {
            return .final(JobFailure(.contentPolicyViolation, "Kling refused the content (code 1301): \(message ?? "content policy")"))
        }
        guard let code, let documented = Self.documentedClass(code) else {
            if response.isSuccess {
                return .final(JobFailure(.providerError, "Kling answered code \(code.map(String.init) ?? "none"): \(message ?? "no message")"))
            }
            return response.failure(provider: "Kling", code: code.map(String.init), message: message)
        }
        switch documented {
        case .retryable: return .retryable("Kling answered code \(code) (\(message ?? ""))", retryAfter: response.retryAfter)
        case .credential: return .credentialRefused("Kling refused the credential (code \(code)): \(message ?? "no message")")
        case .request: return .final(JobFailure(.providerError, "Kling refused the task (code \(code)): \(message ?? "no message")"))
        }
    }
}

/// Kling's short-lived JWTs, made from the access and secret keys (HS256, signed by jwt-kit) and
/// reused until five minutes before they expire.
public final class KlingTokens: Sendable {
    private let accessKey: String
    private let secretKey: HMACKey
    private let cached = Mutex<(token: String, expires: Date)?>(nil)
    private let now: @Sendable () -> Date

    /// The claims Kling documents, as whole seconds.
    struct Claims: JWTPayload {
        let iss: String
        let exp: Int
        let nbf: Int
        /// Only signed here; Kling verifies.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    public init(accessKey: String, secretKey: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.accessKey = accessKey
        self.secretKey = HMACKey(from: Self.padded(Array(secretKey.utf8)))
        self.now = now
    }

    /// The secret key zero-padded to 32 bytes when shorter. jwt-kit refuses HMAC keys shorter than
    /// the hash (an assertion today, a precondition in later releases), while Kling documents no
    /// minimum length. HMAC itself zero-pads any key shorter than the hash's 64-byte block
    /// (RFC 2104, section 2), so the padded key gives exactly the same signature as the key Kling
    /// holds; the tests check tokens made from a 2-byte key against a plain HMAC-SHA256.
    static func padded(_ key: [UInt8]) -> [UInt8] {
        key.count >= 32 ? key : key + [UInt8](repeating: 0, count: 32 - key.count)
    }

    /// A token valid for at least five more minutes. Two callers that find none may each sign
    /// one; both are valid.
    public func token() async throws(ProviderFailure) -> String {
        let instant = now()
        if let cached = cached.withLock({ $0 }), cached.expires.timeIntervalSince(instant) > 300 { return cached.token }
        let issued = Int(instant.timeIntervalSince1970)
        let token: String
        do {
            let keys = await JWTKeyCollection().add(hmac: secretKey, digestAlgorithm: .sha256)
            var header = JWTHeader()
            header.typ = "JWT"
            token = try await keys.sign(Claims(iss: accessKey, exp: issued + 1800, nbf: issued - 5), header: header)
        } catch {
            throw .credentialRefused("the Kling secret key could not sign a token: \(error)")
        }
        cached.withLock { $0 = (token, Date(timeIntervalSince1970: TimeInterval(issued + 1800))) }
        return token
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
