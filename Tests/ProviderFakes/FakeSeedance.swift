import Foundation
import Hummingbird
import Synchronization

/// ByteDance Seedance through BytePlus ModelArk's content-generation task API as documented:
/// bearer auth, `POST /api/v3/contents/generations/tasks`, `GET /api/v3/contents/generations/tasks/{id}`,
/// errors `{"error": {"code", "message", "type"}}`.
///
/// Mounted at the server root: the adapter's base URL is `\(fake.origin)/api/v3`.
public struct FakeSeedance: Sendable {
    /// The ModelArk API key the fake accepts as `Authorization: Bearer KEY`.
    public let apiKey: String
    /// The model of each task, echoed by the status answer.
    let models = FakeTable<String>()

    /// A fake that accepts `apiKey`.
    public init(apiKey: String = "ark-test") {
        self.apiKey = apiKey
    }

    /// Registers the create and status routes under `/api/v3`.
    public func routes(_ router: Router<BasicRequestContext>, _ fake: FakeUpstream) {
        router.post("/api/v3/contents/generations/tasks") { request, context in
            let body = try await FakeUpstream.body(request, context: context)
            if let fault = fake.record(request, body: body, call: .create) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            if let problem = Self.checkCreate(request: request, body: body) {
                fake.violation("seedance create: \(problem)")
                return Self.error(.badRequest, "InvalidParameter", problem, type: "BadRequest")
            }
            if fake.createRefusedForPolicy {
                return Self.error(
                    .badRequest, "InputTextSensitiveContentDetected", "The request failed because the input text may contain sensitive information.",
                    type: "BadRequest")
            }
            let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
            let hasImage = (json["content"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "image_url" }
            let model = json["model"] as? String ?? ""
            // UNCONFIRMED (docs/providers/callbacks.md): the callback body taken to be the task object of a query.
            let task = fake.createTask(prefix: "cgt-20261125-", mode: hasImage ? "i2v" : "t2v", callbackURL: json["callback_url"] as? String) {
                [fake] id, state in Self.taskObject(id: id, model: model, state: state, fake: fake)
            }
            models[task.id] = model
            return FakeUpstream.json(.ok, ["id": task.id])
        }
        router.get("/api/v3/contents/generations/tasks/{id}") { request, context in
            if let fault = fake.record(request, body: Data(), call: .status) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            let id = context.parameters.get("id") ?? ""
            guard let state = fake.advance(id) else {
                return Self.error(.notFound, "ResourceNotFound", "The specified task \(id) is not found.", type: "NotFound")
            }
            return FakeUpstream.json(.ok, Self.taskObject(id: id, model: models[id] ?? "", state: state, fake: fake))
        }
    }

    /// The task object of a query answer (and, by our reading, of a callback).
    static func taskObject(id: String, model: String, state: FakeUpstream.TaskState, fake: FakeUpstream) -> [String: Any] {
        var task: [String: Any] = ["id": id, "model": model, "created_at": 1_764_057_600, "updated_at": 1_764_057_660]
        switch state {
        case .running(let polls): task["status"] = polls == 1 ? "queued" : "running"
        case .succeeded:
            task["status"] = "succeeded"
            task["content"] = ["video_url": fake.fileURL(id)]
            task["usage"] = ["completion_tokens": 108_900, "total_tokens": 108_900]
        case .failed:
            task["status"] = "failed"
            task["error"] = ["code": "InternalServiceError", "message": "The service encountered an unexpected internal error."]
        case .refused:
            task["status"] = "failed"
            task["error"] = ["code": "OutputVideoSensitiveContentDetected", "message": "The generated video may contain sensitive information."]
        }
        return task
    }

    /// ModelArk's error body for a scripted fault: `code` a documented code such as
    /// `AccountOverdueError`, or the fake's own for the status; `type` follows the status.
    static func errorBody(_ status: Int, _ code: String? = nil, _ message: String = "") -> Any {
        let (ownCode, type) =
            switch status {
            case 401: ("AuthenticationError", "Unauthorized")
            case 403: ("AccessDenied", "Forbidden")
            case 404: ("ResourceNotFound", "NotFound")
            case 429: ("RateLimitExceeded", "TooManyRequests")
            case 500...: ("InternalServiceError", "InternalServerError")
            default: ("InvalidParameter", "BadRequest")
            }
        return ["error": ["code": code ?? ownCode, "message": FakeUpstream.message(message, status: status), "type": type]]
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, type: String) -> Response {
        FakeUpstream.json(status, ["error": ["code": code, "message": message, "type": type]])
    }

    /// ModelArk's 401 for a missing or wrong key.
    func authRefusal(_ request: Request, _ fake: FakeUpstream) -> Response? {
        guard request.headers[.authorization] != "Bearer \(apiKey)" else { return nil }
        fake.violation("seedance auth: no Bearer with the API key")
        return Self.error(.unauthorized, "AuthenticationError", "The API key in the request is missing or invalid.", type: "Unauthorized")
    }

    /// The documented create body, strictly: one text item, at most one `first_frame` image, the
    /// top-level `ratio`, integer `duration` 4...12 and `resolution`.
    static func checkCreate(request: Request, body: Data) -> String? {
        guard request.headers[.contentType]?.hasPrefix("application/json") == true else { return "Content-Type is not application/json" }
        guard let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return "body is not a JSON object" }
        let known: Set<String> = ["model", "content", "ratio", "duration", "resolution", "watermark", "generate_audio", "callback_url"]
        if let unknown = json.keys.first(where: { !known.contains($0) }) { return "unknown field \(unknown)" }
        guard let model = json["model"] as? String, model.hasPrefix("seedance") else { return "model missing or not a Seedance model" }
        guard let content = json["content"] as? [[String: Any]], let first = content.first else { return "content is not a list of items" }
        guard first["type"] as? String == "text", let text = first["text"] as? String, !text.isEmpty, first.count == 2 else {
            return "content[0] is not {type: text, text}"
        }
        if text.contains("--ratio") || text.contains("--duration") { return "text carries the old --flags; use the top-level fields" }
        if content.count > 2 { return "more than one image" }
        if content.count == 2 {
            let image = content[1]
            guard image["type"] as? String == "image_url", image["role"] as? String == "first_frame", image.count == 3,
                let url = (image["image_url"] as? [String: Any])?["url"] as? String, FakeWan.isImageURL(url)
            else { return "content[1] is not {type: image_url, image_url: {url}, role: first_frame} with a URL or data:image URI" }
        }
        let ratios = ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"]
        guard let ratio = json["ratio"] as? String, ratios.contains(ratio) else { return "ratio missing or not documented" }
        guard let duration = FakeUpstream.integer(json["duration"]), (4...12).contains(duration) else { return "duration is not an integer in 4...12" }
        guard let resolution = json["resolution"] as? String, ["480p", "720p", "1080p"].contains(resolution) else {
            return "resolution is not 480p, 720p or 1080p"
        }
        for flag in ["watermark", "generate_audio"] where json[flag] != nil && !(json[flag] is Bool) { return "\(flag) is not a boolean" }
        if let callback = json["callback_url"], !((callback as? String)?.hasPrefix("http") ?? false) { return "callback_url is not a URL" }
        return nil
    }
}

/// Values a fake keeps per task id, shared by the copies of the fake.
final class FakeTable<Value: Sendable>: Sendable {
    private let values = Mutex<[String: Value]>([:])

    subscript(id: String) -> Value? {
        get { values.withLock { $0[id] } }
        set { values.withLock { $0[id] = newValue } }
    }
}
