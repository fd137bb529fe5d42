import Crypto
import Foundation
import Hummingbird
import Synchronization

/// Kling's API as documented: JWT bearer auth (HS256, `iss` = access key, valid `exp` and `nbf`),
/// `POST /v1/videos/{text2video|image2video}`, `GET` of the same path with a task id or an
/// external task id, the `{"code", "message", "request_id", "data"}` envelope.
public struct FakeKling: Sendable {
    public let accessKey: String
    public let secretKey: String
    /// Creates whose task is made but whose answer is lost (a 502 instead): what a client sees
    /// when it crashes or the network fails after Kling accepted the task.
    let lostAnswers: Countdown

    public init(accessKey: String = "ak-test", secretKey: String = "sk-test", losingCreateAnswers: Int = 0) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.lostAnswers = Countdown(losingCreateAnswers)
    }

    public func routes(_ router: Router<BasicRequestContext>, _ fake: FakeUpstream) {
        for kind in ["text2video", "image2video"] {
            router.post("/v1/videos/\(kind)") { request, context in
                let body = try await FakeUpstream.body(request, context: context)
                if let fault = fake.record(request, body: body, call: .create) { return FakeUpstream.play(fault, error: Self.errorBody) }
                if let refusal = authRefusal(request, fake) { return refusal }
                if let problem = Self.checkCreate(kind: kind, request: request, body: body) {
                    fake.violation("kling create: \(problem)")
                    return FakeUpstream.json(.badRequest, ["code": 1201, "message": problem, "request_id": "fake-req"])
                }
                if fake.createRefusedForPolicy {
                    return FakeUpstream.json(.badRequest, ["code": 1301, "message": "Trigger the content security policy", "request_id": "fake-req"])
                }
                let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
                let external = json["external_task_id"] as? String
                if let external, fake.task(external) != nil {
                    return FakeUpstream.json(.badRequest, ["code": 1201, "message": "external_task_id already exists", "request_id": "fake-req"])
                }
                let callbackURL = json["callback_url"] as? String
                let task = fake.createTask(prefix: "kt_", mode: kind, externalID: external, callbackURL: callbackURL) { [fake] id, state in
                    // Kling's callback protocol: the task object, as `data` of the query answer.
                    Self.taskData(id: id, external: external, state: state, fake: fake)
                }
                if lostAnswers.take() {
                    return FakeUpstream.json(.badGateway, ["code": 5000, "message": "answer lost", "request_id": "fake-req"])
                }
                return FakeUpstream.json(.ok, [
                    "code": 0, "message": "SUCCEED", "request_id": "kreq_\(task.id)",
                    "data": ["task_id": task.id, "task_status": "submitted", "task_info": ["external_task_id": external ?? ""],
                             "created_at": 1_764_000_000_000, "updated_at": 1_764_000_000_000] as [String: Any],
                ])
            }
            router.get("/v1/videos/\(kind)/{id}") { request, context in
                if let fault = fake.record(request, body: Data(), call: .status) { return FakeUpstream.play(fault, error: Self.errorBody) }
                if let refusal = authRefusal(request, fake) { return refusal }
                let id = context.parameters.get("id") ?? ""
                guard let task = fake.task(id), task.mode == kind else {
                    return FakeUpstream.json(.notFound, ["code": 1203, "message": "task not found", "request_id": "fake-req"])
                }
                guard let state = fake.advance(task.id) else {
                    return FakeUpstream.json(.notFound, ["code": 1203, "message": "task not found", "request_id": "fake-req"])
                }
                let data = Self.taskData(id: task.id, external: task.externalID, state: state, fake: fake)
                return FakeUpstream.json(.ok, ["code": 0, "message": "SUCCEED", "request_id": "kreq_poll", "data": data])
            }
        }
    }

    /// The task object: `data` of a query answer, and the body of a callback.
    static func taskData(id: String, external: String?, state: FakeUpstream.TaskState, fake: FakeUpstream) -> [String: Any] {
        var data: [String: Any] = ["task_id": id, "task_info": ["external_task_id": external ?? ""], "created_at": 1, "updated_at": 2]
        switch state {
        case .running(let polls): data["task_status"] = polls == 1 ? "submitted" : "processing"
        case .succeeded:
            data["task_status"] = "succeed"
            data["task_result"] = ["videos": [["id": "v1", "url": fake.fileURL(id), "duration": "5"]]]
        case .failed:
            data["task_status"] = "failed"
            data["task_status_msg"] = "Internal error during generation"
        case .refused:
            data["task_status"] = "failed"
            data["task_status_msg"] = "Failure to pass the risk control system"
        }
        return data
    }

    /// Kling's envelope for a scripted fault: `code` a service code such as `1102`, or the fake's
    /// own for the status.
    static func errorBody(_ status: Int, _ code: String? = nil, _ message: String = "") -> Any {
        let service = code.flatMap { Int($0) } ?? (status == 429 ? 1302 : status >= 500 ? 5000 : 1200)
        return ["code": service, "message": FakeUpstream.message(message, status: status), "request_id": "fake-req"]
    }

    /// Kling's 401 for a missing or bad JWT.
    func authRefusal(_ request: Request, _ fake: FakeUpstream) -> Response? {
        let header = request.headers[.authorization] ?? ""
        let problem: String?
        if !header.hasPrefix("Bearer ") {
            problem = "no Bearer token"
        } else {
            problem = Self.checkJWT(String(header.dropFirst("Bearer ".count)), accessKey: accessKey, secretKey: secretKey)
        }
        guard let problem else { return nil }
        fake.violation("kling auth: \(problem)")
        return FakeUpstream.json(.unauthorized, ["code": 1004, "message": "Authorization failed: \(problem)", "request_id": "fake-req"])
    }

    /// Checks an HS256 JWT: header, signature with the secret key, `iss`, `exp` in the future, `nbf` in the past.
    public static func checkJWT(_ token: String, accessKey: String, secretKey: String, now: Date = Date()) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerData = base64URLDecode(parts[0]), let claimsData = base64URLDecode(parts[1]),
            let signature = base64URLDecode(parts[2])
        else { return "not a JWT" }
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any], header["alg"] as? String == "HS256",
            header["typ"] as? String == "JWT"
        else { return "header is not {alg: HS256, typ: JWT}" }
        let expected = HMAC<SHA256>.authenticationCode(for: Data((parts[0] + "." + parts[1]).utf8), using: SymmetricKey(data: Data(secretKey.utf8)))
        guard Data(expected) == signature else { return "signature does not verify with the secret key" }
        guard let claims = (try? JSONSerialization.jsonObject(with: claimsData)) as? [String: Any] else { return "claims are not JSON" }
        guard claims["iss"] as? String == accessKey else { return "iss is not the access key" }
        let now = now.timeIntervalSince1970
        guard let exp = (claims["exp"] as? NSNumber)?.doubleValue, exp > now else { return "exp missing or past" }
        guard let nbf = (claims["nbf"] as? NSNumber)?.doubleValue, nbf <= now else { return "nbf missing or in the future" }
        return nil
    }

    static func base64URLDecode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    /// The documented create body, strictly.
    static func checkCreate(kind: String, request: Request, body: Data) -> String? {
        guard request.headers[.contentType]?.hasPrefix("application/json") == true else { return "Content-Type is not application/json" }
        guard let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return "body is not a JSON object" }
        let known: Set<String> = ["model_name", "prompt", "negative_prompt", "mode", "aspect_ratio", "duration", "external_task_id", "callback_url",
                                   "image", "image_tail", "cfg_scale"]
        if let unknown = json.keys.first(where: { !known.contains($0) }) { return "unknown field \(unknown)" }
        guard let model = json["model_name"] as? String, model.hasPrefix("kling-") else { return "model_name missing or not a Kling model" }
        guard let prompt = json["prompt"] as? String, !prompt.isEmpty, prompt.count <= 2500 else { return "prompt missing or too long" }
        guard let mode = json["mode"] as? String, ["std", "pro"].contains(mode) else { return "mode is not std or pro" }
        guard let duration = json["duration"] as? String, ["5", "10"].contains(duration) else { return "duration is not the string 5 or 10" }
        if let external = json["external_task_id"], !(external is String) { return "external_task_id is not a string" }
        if let callback = json["callback_url"], !((callback as? String)?.hasPrefix("http") ?? false) { return "callback_url is not a URL" }
        if kind == "text2video" {
            guard let ratio = json["aspect_ratio"] as? String, ["16:9", "9:16", "1:1"].contains(ratio) else { return "aspect_ratio invalid" }
            if json["image"] != nil { return "text2video takes no image" }
        } else {
            guard let image = json["image"] as? String, !image.isEmpty else { return "image missing" }
            if image.hasPrefix("data:") { return "image must be a URL or raw base64 without a data: prefix" }
            if !image.hasPrefix("http://") && !image.hasPrefix("https://") && Data(base64Encoded: image) == nil { return "image is not base64" }
        }
        return nil
    }
}

/// Counts down to zero; `take()` is true while it could count.
final class Countdown: Sendable {
    private let remaining: Mutex<Int>
    init(_ count: Int) { remaining = Mutex(count) }
    func take() -> Bool {
        remaining.withLock { remaining in
            guard remaining > 0 else { return false }
            remaining -= 1
            return true
        }
    }
}
