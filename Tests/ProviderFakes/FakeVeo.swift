import Foundation
import Hummingbird

/// Google Veo through the Gemini API as documented: `x-goog-api-key` auth,
/// `POST /v1beta/models/{model}:predictLongRunning`, long-running operations polled at
/// `GET /v1beta/models/{model}/operations/{id}`, results as Gemini file URIs
/// (`GET /v1beta/files/{id}:download?alt=media`, with the key, redirecting to the file host), errors
/// `{"error": {"code", "message", "status"}}`.
///
/// Mounted at the server root: the adapter's base URL is `\(fake.origin)/v1beta`.
public struct FakeVeo: Sendable {
    /// The Gemini API key the fake accepts in `x-goog-api-key`.
    public let apiKey: String
    /// Origin (`http://host:port`) named in finished operations' video URIs; nil names the fake itself.
    /// Another origin plays a response that points the adapter at a host that must not get the key.
    public let fileOrigin: String?

    /// A fake that accepts `apiKey`.
    public init(apiKey: String = "gemini-test", fileOrigin: String? = nil) {
        self.apiKey = apiKey
        self.fileOrigin = fileOrigin
    }

    /// Registers the create, operation and file routes under `/v1beta`.
    public func routes(_ router: Router<BasicRequestContext>, _ fake: FakeUpstream) {
        // One parameter name per position in Hummingbird's trie: `{model}` here is `MODEL:predictLongRunning`.
        router.post("/v1beta/models/{model}") { request, context in
            let body = try await FakeUpstream.body(request, context: context)
            if let fault = fake.record(request, body: body, call: .create) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            let action = (context.parameters.get("model") ?? "").split(separator: ":", maxSplits: 1).map(String.init)
            guard action.count == 2, action[1] == "predictLongRunning" else {
                fake.violation("veo create: path is not models/{model}:predictLongRunning")
                return Self.error(404, "NOT_FOUND", "The requested URL was not found on this server.")
            }
            let model = action[0]
            guard model.hasPrefix("veo-"), !model.hasPrefix("veo-3.0") else {
                fake.violation("veo create: model \(model) is not a current Veo model")
                return Self.error(404, "NOT_FOUND", "models/\(model) is not found for API version v1beta, or is not supported for predictLongRunning.")
            }
            if let problem = Self.checkCreate(model: model, request: request, body: body) {
                fake.violation("veo create: \(problem)")
                return Self.error(400, "INVALID_ARGUMENT", problem)
            }
            if fake.createRefusedForPolicy {
                return Self.error(400, "INVALID_ARGUMENT", "The prompt was blocked by the safety filters: it may violate the usage policy.")
            }
            let instance = ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["instances"] as? [[String: Any]]
            let task = fake.createTask(prefix: "models/\(model)/operations/op", mode: instance?.first?["image"] == nil ? "t2v" : "i2v")
            return FakeUpstream.json(.ok, ["name": task.id])
        }
        router.get("/v1beta/models/{model}/operations/{op}") { request, context in
            if let fault = fake.record(request, body: Data(), call: .status) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            let name = "models/\(context.parameters.get("model") ?? "")/operations/\(context.parameters.get("op") ?? "")"
            var operation: [String: Any] = ["name": name, "done": true]
            let response = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
            switch fake.advance(name) {
            case .running?: operation["done"] = false
            case .succeeded?:
                let uri = "\(fileOrigin ?? fake.origin)/v1beta/files/\(Self.fileID(name)):download?alt=media"
                operation["response"] = ["@type": response, "generateVideoResponse": ["generatedSamples": [["video": ["uri": uri]]]]]
            case .failed?: operation["error"] = ["code": 13, "message": "Internal error"]
            case .refused?:
                let reasons = ["Unable to generate the video because it may violate Google's Responsible AI practices (safety filters)."]
                operation["response"] = ["@type": response, "generateVideoResponse": ["raiMediaFilteredCount": 1, "raiMediaFilteredReasons": reasons]]
            case nil: return Self.error(404, "NOT_FOUND", "Operation \(name) not found.")
            }
            return FakeUpstream.json(.ok, operation)
        }
        router.get("/v1beta/files/{file}") { request, context in
            if let fault = fake.record(request, body: Data(), call: .content) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            let file = context.parameters.get("file") ?? ""
            guard file.hasSuffix(":download"), request.uri.queryParameters.get("alt") == "media" else {
                fake.violation("veo download: not files/{id}:download?alt=media")
                return Self.error(400, "INVALID_ARGUMENT", "Download requires files/{id}:download?alt=media.")
            }
            let id = String(file.dropLast(":download".count))
            guard fake.tasks.contains(where: { Self.fileID($0.id) == id }) else { return Self.error(404, "NOT_FOUND", "File \(id) not found.") }
            return Response(status: .found, headers: [.location: fake.fileURL(id)])
        }
    }

    /// The file id of an operation's video.
    static func fileID(_ operation: String) -> String { "video-" + (operation.split(separator: "/").last.map(String.init) ?? "") }

    /// Google's status name of an HTTP status.
    static func statusName(_ status: Int) -> String {
        switch status {
        case 400: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 429: "RESOURCE_EXHAUSTED"
        case 503: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: "INTERNAL"
        }
    }

    /// Google's error body for a scripted fault: `code` a `google.rpc` status name, optionally with
    /// an `ErrorInfo` reason after a slash (`INVALID_ARGUMENT/API_KEY_INVALID`), or the status's own name.
    static func errorBody(_ status: Int, _ code: String? = nil, _ message: String = "") -> Any {
        let parts = code?.split(separator: "/", maxSplits: 1).map(String.init) ?? []
        var error: [String: Any] = [
            "code": status, "message": FakeUpstream.message(message, status: status), "status": parts.first ?? statusName(status),
        ]
        if parts.count == 2 {
            error["details"] = [["@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": parts[1], "domain": "googleapis.com"]]
        }
        return ["error": error]
    }

    static func error(_ status: Int, _ name: String, _ message: String, details: [[String: Any]]? = nil) -> Response {
        var error: [String: Any] = ["code": status, "message": message, "status": name]
        error["details"] = details
        return FakeUpstream.json(HTTPResponse.Status(code: status), ["error": error])
    }

    /// Google's 403 for a missing key and 400 `API_KEY_INVALID` for a wrong one.
    func authRefusal(_ request: Request, _ fake: FakeUpstream) -> Response? {
        let key = FakeUpstream.header(request, "x-goog-api-key")
        guard key != apiKey else { return nil }
        guard key != nil else {
            fake.violation("veo auth: no x-goog-api-key")
            return Self.error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity).")
        }
        fake.violation("veo auth: wrong x-goog-api-key")
        let info: [String: Any] = ["@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"]
        return Self.error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details: [info])
    }

    /// The documented create body, strictly: one instance with a prompt and an optional image as
    /// bytes, `aspectRatio` 16:9 or 9:16, integer `durationSeconds` 4, 6 or 8 (8 for 1080p and 4k).
    static func checkCreate(model: String, request: Request, body: Data) -> String? {
        guard request.headers[.contentType]?.hasPrefix("application/json") == true else { return "Content-Type is not application/json" }
        guard let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return "body is not a JSON object" }
        if let unknown = json.keys.first(where: { !["instances", "parameters"].contains($0) }) { return "unknown field \(unknown)" }
        guard let instances = json["instances"] as? [[String: Any]], instances.count == 1, let instance = instances.first else {
            return "instances is not a list of one instance"
        }
        if let unknown = instance.keys.first(where: { !["prompt", "image"].contains($0) }) { return "unknown field instances[0].\(unknown)" }
        guard let prompt = instance["prompt"] as? String, !prompt.isEmpty else { return "instances[0].prompt missing" }
        if let image = instance["image"] {
            guard let image = image as? [String: Any], Set(image.keys) == ["bytesBase64Encoded", "mimeType"] else {
                return "instances[0].image is not {bytesBase64Encoded, mimeType} (this API takes no image URL)"
            }
            guard let mime = image["mimeType"] as? String, ["image/png", "image/jpeg", "image/webp"].contains(mime) else { return "image mimeType invalid" }
            guard let bytes = image["bytesBase64Encoded"] as? String, let data = Data(base64Encoded: bytes), !data.isEmpty else {
                return "image bytesBase64Encoded is not base64"
            }
        }
        guard let parameters = json["parameters"] as? [String: Any] else { return "parameters missing" }
        let known: Set<String> = ["aspectRatio", "durationSeconds", "resolution", "negativePrompt", "personGeneration", "seed"]
        if let unknown = parameters.keys.first(where: { !known.contains($0) }) { return "unknown field parameters.\(unknown)" }
        guard let ratio = parameters["aspectRatio"] as? String, ["16:9", "9:16"].contains(ratio) else { return "aspectRatio is not 16:9 or 9:16" }
        guard let duration = FakeUpstream.integer(parameters["durationSeconds"]), [4, 6, 8].contains(duration) else {
            return "durationSeconds is not the integer 4, 6 or 8"
        }
        if let resolution = parameters["resolution"] {
            guard let resolution = resolution as? String, ["720p", "1080p", "4k"].contains(resolution) else { return "resolution invalid" }
            if resolution != "720p" && duration != 8 { return "\(resolution) requires durationSeconds 8" }
            if resolution == "4k" && model.contains("lite") { return "4k is not available on Lite" }
        }
        if let negative = parameters["negativePrompt"], !(negative is String) { return "negativePrompt is not a string" }
        return nil
    }
}
