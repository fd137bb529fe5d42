import Foundation
import Hummingbird

/// Alibaba WAN through DashScope's asynchronous video-synthesis API as documented: bearer auth,
/// `POST /api/v1/services/aigc/video-generation/video-synthesis` with `X-DashScope-Async: enable`,
/// `GET /api/v1/tasks/{task_id}`, errors `{"code", "message", "request_id"}`.
///
/// Mounted at the server root: the adapter's base URL is `\(fake.origin)/api/v1`.
public struct FakeWan: Sendable {
    /// The DashScope API key the fake accepts as `Authorization: Bearer KEY`.
    public let apiKey: String

    /// The `W*H` sizes of text-to-video (480P, 720P and 1080P families).
    public static let sizes: Set<String> = ["1280*720", "720*1280", "960*960", "832*480", "480*832", "624*624", "1920*1080", "1080*1920", "1440*1440"]

    /// A fake that accepts `apiKey`.
    public init(apiKey: String = "dashscope-test") {
        self.apiKey = apiKey
    }

    /// Registers the create and status routes under `/api/v1`.
    public func routes(_ router: Router<BasicRequestContext>, _ fake: FakeUpstream) {
        router.post("/api/v1/services/aigc/video-generation/video-synthesis") { request, context in
            let body = try await FakeUpstream.body(request, context: context)
            if let fault = fake.record(request, body: body, call: .create) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            if FakeUpstream.header(request, "x-dashscope-async") != "enable" {
                fake.violation("wan create: X-DashScope-Async: enable missing")
                return Self.error(.forbidden, "AccessDenied", "current user api does not support synchronous calls")
            }
            if let problem = Self.checkCreate(request: request, body: body) {
                fake.violation("wan create: \(problem)")
                return Self.error(.badRequest, "InvalidParameter", problem)
            }
            if fake.createRefusedForPolicy {
                return Self.error(.badRequest, "DataInspectionFailed", "Input data may contain inappropriate content.")
            }
            let model = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["model"] as? String ?? ""
            let task = fake.createTask(prefix: "wan-task-", mode: model.contains("i2v") ? "i2v" : "t2v")
            return FakeUpstream.json(.ok, ["output": ["task_status": "PENDING", "task_id": task.id], "request_id": "req-\(task.id)"])
        }
        router.get("/api/v1/tasks/{id}") { request, context in
            if let fault = fake.record(request, body: Data(), call: .status) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            let id = context.parameters.get("id") ?? ""
            var output: [String: Any] = ["task_id": id, "submit_time": "2026-11-25 08:00:00.000"]
            switch fake.advance(id) {
            case .running(let polls)?: output["task_status"] = polls == 1 ? "PENDING" : "RUNNING"
            case .succeeded?:
                output["task_status"] = "SUCCEEDED"
                output["video_url"] = fake.fileURL(id)
                output["end_time"] = "2026-11-25 08:03:00.000"
            case .failed?:
                output["task_status"] = "FAILED"
                output["code"] = "InternalError.Algo"
                output["message"] = "An internal error occurred during the generation."
            case .refused?:
                output["task_status"] = "FAILED"
                output["code"] = "DataInspectionFailed"
                output["message"] = "Output data may contain inappropriate content."
            case nil: output["task_status"] = "UNKNOWN"
            }
            return FakeUpstream.json(.ok, ["request_id": "req-poll", "output": output])
        }
    }

    /// DashScope's error body for a scripted fault: `code` a documented code such as `Arrearage`,
    /// or the fake's own for the status.
    static func errorBody(_ status: Int, _ code: String? = nil, _ message: String = "") -> Any {
        let own =
            switch status {
            case 401: "InvalidApiKey"
            case 403: "AccessDenied"
            case 429: "Throttling"
            case 500...: "InternalError"
            default: "InvalidParameter"
            }
        return ["code": code ?? own, "message": FakeUpstream.message(message, status: status), "request_id": "fake-req"]
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        FakeUpstream.json(status, ["code": code, "message": message, "request_id": "fake-req"])
    }

    /// DashScope's 401 for a missing or wrong key.
    func authRefusal(_ request: Request, _ fake: FakeUpstream) -> Response? {
        guard request.headers[.authorization] != "Bearer \(apiKey)" else { return nil }
        fake.violation("wan auth: no Bearer with the API key")
        return Self.error(.unauthorized, "InvalidApiKey", "Invalid API-key provided.")
    }

    /// The documented create body, strictly: text-to-video takes `size`, image-to-video (a model
    /// with `i2v`) `img_url` and `resolution`; `duration` is the integer 5 or 10 for both.
    static func checkCreate(request: Request, body: Data) -> String? {
        guard request.headers[.contentType]?.hasPrefix("application/json") == true else { return "Content-Type is not application/json" }
        guard let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return "body is not a JSON object" }
        if let unknown = json.keys.first(where: { !["model", "input", "parameters"].contains($0) }) { return "unknown field \(unknown)" }
        guard let model = json["model"] as? String, model.hasPrefix("wan") else { return "model missing or not a WAN model" }
        guard let input = json["input"] as? [String: Any], let parameters = json["parameters"] as? [String: Any] else {
            return "input or parameters missing"
        }
        if let unknown = input.keys.first(where: { !["prompt", "negative_prompt", "img_url"].contains($0) }) { return "unknown input.\(unknown)" }
        let known = ["size", "resolution", "duration", "prompt_extend", "seed"]
        if let unknown = parameters.keys.first(where: { !known.contains($0) }) { return "unknown parameters.\(unknown)" }
        guard let prompt = input["prompt"] as? String, !prompt.isEmpty else { return "input.prompt missing" }
        guard let duration = FakeUpstream.integer(parameters["duration"]), [5, 10].contains(duration) else {
            return "parameters.duration is not the integer 5 or 10"
        }
        if model.contains("i2v") {
            guard let image = input["img_url"] as? String, isImageURL(image) else { return "input.img_url is not a URL or data:image URI" }
            guard let resolution = parameters["resolution"] as? String, ["480P", "720P", "1080P"].contains(resolution) else {
                return "parameters.resolution is not 480P, 720P or 1080P"
            }
            if parameters["size"] != nil { return "image-to-video takes resolution, not size" }
        } else {
            if input["img_url"] != nil { return "text-to-video takes no img_url" }
            guard let size = parameters["size"] as? String, sizes.contains(size) else { return "parameters.size is not a documented W*H size" }
            if parameters["resolution"] != nil { return "text-to-video takes size, not resolution" }
        }
        return nil
    }

    /// An http(s) URL or a `data:image/...;base64,` URI with valid base64.
    static func isImageURL(_ text: String) -> Bool {
        if text.hasPrefix("http://") || text.hasPrefix("https://") { return URL(string: text) != nil }
        guard text.hasPrefix("data:image/"), let comma = text.firstIndex(of: ","), text[..<comma].hasSuffix(";base64") else { return false }
        return Data(base64Encoded: String(text[text.index(after: comma)...])).map { !$0.isEmpty } ?? false
    }
}

extension FakeUpstream {
    /// The value of a header by its lowercased name.
    static func header(_ request: Request, _ name: String) -> String? {
        request.headers.first { $0.name.canonicalName.lowercased() == name }?.value
    }

    /// A JSON integer (not a Bool, not a number with a fraction or exponent form), as JSONSerialization parsed it.
    static func integer(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber else { return nil }  // Bools have objCType "c"
        let type = String(cString: number.objCType)
        return ["i", "l", "q", "s", "I", "L", "Q", "S"].contains(type) ? number.intValue : nil
    }
}
