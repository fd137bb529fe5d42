import Foundation
import Hummingbird
import NIOCore

/// The OpenAI Videos API (Sora) as documented: `POST /v1/videos` (multipart, or JSON without a
/// file), `GET /v1/videos/{id}`, `GET /v1/videos/{id}/content`, errors
/// `{"error": {"message", "type", "param", "code"}}`; the key as `Authorization: Bearer KEY` or,
/// Azure-style, `api-key: KEY`.
///
/// Mounted at the server root: the adapter's base URL is `\(fake.origin)/v1`.
public struct FakeSora: Sendable {
    /// The API key the fake accepts.
    public let apiKey: String
    /// `"bearer"` (`Authorization: Bearer KEY`) or `"api-key"` (`api-key: KEY`).
    public let auth: String
    /// The create fields of each video, echoed by the status answer.
    let videos = FakeTable<[String: String]>()
    /// Videos whose status call has answered `completed`: only their content is served.
    let completed = FakeTable<Bool>()

    /// A fake that accepts `apiKey` sent the `auth` way.
    public init(apiKey: String = "openai-test", auth: String = "bearer") {
        self.apiKey = apiKey
        self.auth = auth
    }

    /// One part of a `multipart/form-data` body.
    public struct Part: Sendable {
        /// The part's bytes.
        public var value: Data
        /// The `filename` of its Content-Disposition, for a file.
        public var filename: String?
        /// Its own Content-Type, for a file.
        public var contentType: String?
        /// The value as UTF-8 text.
        public var text: String? { String(data: value, encoding: .utf8) }
    }

    /// Registers the create, status and content routes under `/v1`.
    public func routes(_ router: Router<BasicRequestContext>, _ fake: FakeUpstream) {
        router.post("/v1/videos") { request, context in
            let body = try await FakeUpstream.body(request, context: context)
            if let fault = fake.record(request, body: body, call: .create) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            let fields: [String: String]
            switch Self.checkCreate(request: request, body: body) {
            case .failure(let problem):
                fake.violation("sora create: \(problem.message)")
                return Self.error(400, problem.message, param: problem.param)
            case .success(let checked): fields = checked
            }
            if fake.createRefusedForPolicy {
                return Self.error(400, "Your request was blocked by our moderation system.", code: "moderation_blocked")
            }
            let task = fake.createTask(prefix: "video_", mode: fields["input_reference"] == nil ? "t2v" : "i2v")
            videos[task.id] = fields
            return FakeUpstream.json(.ok, Self.video(task.id, fields, status: "queued", progress: 0))
        }
        router.get("/v1/videos/{id}") { request, context in
            if let fault = fake.record(request, body: Data(), call: .status) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            let id = context.parameters.get("id") ?? ""
            guard let fields = videos[id], let state = fake.advance(id) else { return Self.notFound(id) }
            var video: [String: Any]
            switch state {
            case .running(let polls): video = Self.video(id, fields, status: polls == 1 ? "queued" : "in_progress", progress: polls == 1 ? 0 : 50)
            case .succeeded:
                completed[id] = true
                video = Self.video(id, fields, status: "completed", progress: 100)
                video["completed_at"] = 1_764_057_700
                video["expires_at"] = 1_764_144_100
            case .failed, .refused:
                video = Self.video(id, fields, status: "failed", progress: 0)
                video["error"] =
                    state == .failed
                    ? ["code": "internal_error", "message": "The video could not be generated."]
                    : ["code": "moderation_blocked", "message": "Your request was blocked by our moderation system."]
            }
            return FakeUpstream.json(.ok, video)
        }
        router.get("/v1/videos/{id}/content") { request, context in
            if let fault = fake.record(request, body: Data(), call: .content) { return FakeUpstream.play(fault, error: Self.errorBody) }
            if let refusal = authRefusal(request, fake) { return refusal }
            let id = context.parameters.get("id") ?? ""
            let variant = request.uri.queryParameters.get("variant") ?? "video"
            guard ["video", "thumbnail", "spritesheet"].contains(variant) else {
                fake.violation("sora content: variant \(variant) is not documented")
                return Self.error(400, "Invalid value for 'variant'.", param: "variant")
            }
            guard variant == "video", completed[id] == true else { return Self.notFound(id) }
            return Response(status: .ok, headers: [.contentType: "video/mp4"], body: .init(byteBuffer: ByteBuffer(bytes: fake.video)))
        }
    }

    static func video(_ id: String, _ fields: [String: String], status: String, progress: Int) -> [String: Any] {
        ["id": id, "object": "video", "model": fields["model"] ?? "", "status": status, "progress": progress, "created_at": 1_764_057_600,
         "size": fields["size"] ?? "", "seconds": fields["seconds"] ?? ""]
    }

    /// The Videos API's error body for a scripted fault: `code` a documented code such as
    /// `insufficient_quota`, or the fake's own for the status; `type` follows the code or status.
    static func errorBody(_ status: Int, _ code: String? = nil, _ message: String = "") -> Any {
        let (ownType, ownCode): (String, Any) =
            switch status {
            case 401: ("invalid_request_error", "invalid_api_key")
            case 429: ("requests", "rate_limit_exceeded")
            case 500...: ("server_error", NSNull())
            default: ("invalid_request_error", NSNull())
            }
        let type =
            switch code {
            case "insufficient_quota"?: "insufficient_quota"
            case "rate_limit_exceeded"?: "requests"
            case "slow_down"?, "server_is_overloaded"?: "service_unavailable_error"
            case "server_error"?: "server_error"
            default: ownType
            }
        return ["error": ["message": FakeUpstream.message(message, status: status), "type": type, "param": NSNull(), "code": code ?? ownCode]]
    }

    static func error(_ status: Int, _ message: String, param: String? = nil, code: String? = nil) -> Response {
        let error: [String: Any] = ["message": message, "type": "invalid_request_error", "param": param ?? NSNull(), "code": code ?? NSNull()]
        return FakeUpstream.json(HTTPResponse.Status(code: status), ["error": error])
    }

    static func notFound(_ id: String) -> Response { error(404, "Video with id '\(id)' not found.", code: "video_not_found") }

    /// The 401 for a key missing from the configured header, or wrong.
    func authRefusal(_ request: Request, _ fake: FakeUpstream) -> Response? {
        let sent = auth == "api-key" ? FakeUpstream.header(request, "api-key") : request.headers[.authorization]
        guard sent != (auth == "api-key" ? apiKey : "Bearer \(apiKey)") else { return nil }
        fake.violation("sora auth: key not sent as \(auth)")
        return Self.error(401, "Incorrect API key provided.", code: "invalid_api_key")
    }

    /// A create problem: the message and the field it concerns.
    struct Problem: Error {
        var message: String
        var param: String?
        init(_ message: String, param: String? = nil) { (self.message, self.param) = (message, param) }
    }

    /// The documented create body, strictly; its text fields (and `input_reference` as the file's Content-Type).
    static func checkCreate(request: Request, body: Data) -> Result<[String: String], Problem> {
        let type = request.headers[.contentType] ?? ""
        var parts: [String: Part]
        if type.hasPrefix("application/json") {
            guard let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return .failure(Problem("body is not JSON")) }
            guard json.values.allSatisfy({ $0 is String }) else { return .failure(Problem("a field is not a string")) }
            parts = json.mapValues { Part(value: Data(($0 as? String ?? "").utf8)) }
            if parts["input_reference"] != nil { return .failure(Problem("input_reference must be an uploaded file", param: "input_reference")) }
        } else {
            guard type.hasPrefix("multipart/form-data"), let parsed = parseMultipart(body: body, contentType: type) else {
                return .failure(Problem("body is neither JSON nor a valid multipart/form-data"))
            }
            parts = parsed
        }
        if let unknown = parts.keys.first(where: { !["model", "prompt", "seconds", "size", "input_reference"].contains($0) }) {
            return .failure(Problem("Unknown parameter: '\(unknown)'.", param: unknown))
        }
        var fields: [String: String] = [:]
        for name in ["model", "prompt", "seconds", "size"] {
            guard let part = parts[name], part.filename == nil, let text = part.text, !text.isEmpty else {
                return .failure(Problem("Missing required parameter: '\(name)'.", param: name))
            }
            fields[name] = text
        }
        let model = fields["model"] ?? "", size = fields["size"] ?? ""
        guard ["sora-2", "sora-2-pro"].contains(model) else { return .failure(Problem("Invalid model.", param: "model")) }
        guard ["4", "8", "12"].contains(fields["seconds"]) else { return .failure(Problem("seconds must be \"4\", \"8\" or \"12\".", param: "seconds")) }
        let sizes = model == "sora-2-pro" ? ["1280x720", "720x1280", "1792x1024", "1024x1792"] : ["1280x720", "720x1280"]
        guard sizes.contains(size) else { return .failure(Problem("Invalid size \(size) for \(model).", param: "size")) }
        if let file = parts["input_reference"] {
            guard file.filename?.isEmpty == false, let fileType = file.contentType, ["image/png", "image/jpeg", "image/webp"].contains(fileType) else {
                return .failure(Problem("input_reference must be a PNG, JPEG or WebP file with a filename.", param: "input_reference"))
            }
            guard let pixels = imageSize(file.value), "\(pixels.width)x\(pixels.height)" == size else {
                return .failure(Problem("Inpaint image must match the requested width and height", param: "input_reference"))
            }
            fields["input_reference"] = fileType
        }
        return .success(fields)
    }

    /// The parts of a `multipart/form-data` body by name, or nil when it is malformed, has no
    /// boundary in `contentType`, or repeats a name.
    public static func parseMultipart(body: Data, contentType: String) -> [String: Part]? {
        let parameters = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let boundary = parameters.first(where: { $0.hasPrefix("boundary=") })?.dropFirst("boundary=".count)
            .trimmingCharacters(in: CharacterSet(charactersIn: "\"")), !boundary.isEmpty
        else { return nil }
        let body = Data(body), separator = Data("\r\n--\(boundary)".utf8)
        guard let first = body.range(of: Data("--\(boundary)".utf8)) else { return nil }
        var parts: [String: Part] = [:], cursor = first.upperBound
        while !body[cursor...].starts(with: Data("--".utf8)) {
            guard body[cursor...].starts(with: Data("\r\n".utf8)), let next = body.range(of: separator, in: (cursor + 2)..<body.endIndex),
                let blank = body.range(of: Data("\r\n\r\n".utf8), in: (cursor + 2)..<next.lowerBound),
                let head = String(data: body[(cursor + 2)..<blank.lowerBound], encoding: .utf8)
            else { return nil }
            var headers: [String: String] = [:]
            for line in head.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { return nil }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            var disposition: [String: String] = [:]
            for item in (headers["content-disposition"] ?? "").split(separator: ";").dropFirst() {
                let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2 { disposition[pair[0]] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            }
            guard headers["content-disposition"]?.hasPrefix("form-data") == true, let name = disposition["name"], parts[name] == nil else { return nil }
            parts[name] = Part(value: Data(body[blank.upperBound..<next.lowerBound]), filename: disposition["filename"], contentType: headers["content-type"])
            cursor = next.upperBound
        }
        return parts
    }

    /// The pixel size of a PNG (IHDR), JPEG (first SOF marker) or WebP (VP8, VP8L or VP8X) image.
    static func imageSize(_ image: Data) -> (width: Int, height: Int)? {
        let b = [UInt8](image)
        func be(_ at: Int, _ count: Int) -> Int { (at..<at + count).reduce(0) { $0 << 8 | Int(b[$1]) } }
        func le(_ at: Int, _ count: Int) -> Int { (at..<at + count).reversed().reduce(0) { $0 << 8 | Int(b[$1]) } }
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47]), b.count >= 24 { return (be(16, 4), be(20, 4)) }
        if b.starts(with: [0xFF, 0xD8]) {
            var at = 2
            while at + 9 < b.count, b[at] == 0xFF {
                let marker = b[at + 1]
                if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) { return (be(at + 7, 2), be(at + 5, 2)) }
                at += 2 + be(at + 2, 2)
            }
            return nil
        }
        guard b.count >= 30, b.starts(with: Array("RIFF".utf8)), Array(b[8..<12]) == Array("WEBP".utf8) else { return nil }
        switch String(decoding: b[12..<16], as: UTF8.self) {
        case "VP8 ": return (le(26, 2) & 0x3FFF, le(28, 2) & 0x3FFF)
        case "VP8L": let bits = le(21, 4); return ((bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1)
        case "VP8X": return (le(24, 3) + 1, le(27, 3) + 1)
        default: return nil
        }
    }
}
