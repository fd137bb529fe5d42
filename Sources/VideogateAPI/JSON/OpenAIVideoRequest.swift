import Foundation
import Hummingbird
import VideogateDomain

/// The body of `POST /v1/videos`, multipart/form-data (what OpenAI's SDK always sends) or JSON,
/// read into the fields `SubmissionValidator` takes, so that both surfaces share one validation:
/// `seconds` → `duration`, `size` → `aspect_ratio`, `input_reference` → `image`. OpenAI's defaults
/// apply where a field is absent: model `sora-2`, size `720x1280`.
enum OpenAIVideoRequest {
    static let defaultModel = "sora-2"

    /// Reads the body with api.md's body checks, in order: media type (415), size (413), syntax (400 `invalid_json`).
    static func read(_ request: inout Request, limit: Int) async throws(GatewayError) -> JSONBody {
        let contentType = request.headers[.contentType] ?? ""
        switch HeaderValue.parse(contentType).0 {
        case "application/json":
            let body = try await JSONBody.read(&request, limit: limit)
            return JSONBody(object: try fields(json: body.object), sha256: body.sha256)
        case "multipart/form-data":
            let form = try await readForm(&request, boundary: MultipartForm.boundary(contentType: contentType), limit: limit)
            // The hash of the parsed form, not of the bytes: the same fields and file under another
            // random boundary are the same request.
            return JSONBody(object: try fields(form: form), sha256: form.sha256)
        default:
            throw GatewayError(.unsupportedMediaType, "The body must be multipart/form-data (as OpenAI's SDK sends it) or application/json.")
        }
    }

    /// The fields of a form. Text parts must be UTF-8. `input_reference` is a file part whose
    /// name and content type do not matter: bytes that are an image are the image; a text part
    /// that is not one is read like `image` of `/v1/video` (an https URL or base64).
    static func fields(form: MultipartForm) throws(GatewayError) -> [String: JSONValue] {
        func text(_ name: String) throws(GatewayError) -> String? {
            guard let part = form.first(name) else { return nil }
            guard let value = part.text else { throw GatewayError(.invalidJSON, "The form field '\(name)' must be UTF-8 text.", param: name) }
            return value
        }
        var object: [String: JSONValue] = [:]
        if let prompt = try text("prompt") { object["prompt"] = .string(prompt) }
        object["model"] = .string(try text("model") ?? defaultModel)
        if let seconds = try text("seconds") { object["duration"] = duration(seconds) }
        object["aspect_ratio"] = aspectRatio(try text("size"))
        if let part = form.first("input_reference") {
            if ImageInput.sniffMediaType(part.body) == nil, part.filename == nil, let value = part.text {
                object["image"] = .string(value)
            } else {
                object["image"] = .string(part.body.base64EncodedString())
            }
        } else if let url = try text("input_reference[image_url]") {
            object["image"] = .string(url)
        } else if form.first("input_reference[file_id]") != nil {
            throw fileIDUnsupported
        }
        return object
    }

    /// The fields of a JSON body. Wrong types of `prompt` and `model` are left to the validator;
    /// `seconds` may be a string (OpenAI's type) or an integer; `input_reference` a string or
    /// `{"image_url": ...}`.
    static func fields(json: [String: JSONValue]) throws(GatewayError) -> [String: JSONValue] {
        var object: [String: JSONValue] = [:]
        object["prompt"] = json["prompt"]
        switch json["model"] {
        case nil, .null: object["model"] = .string(defaultModel)
        case let model?: object["model"] = model
        }
        switch json["seconds"] {
        case nil, .null: break
        case .string(let seconds): object["duration"] = duration(seconds)
        case .number(let seconds): object["duration"] = .number(seconds)
        case let other?: throw typeError("seconds", "a string or an integer", other)
        }
        switch json["size"] {
        case nil, .null: object["aspect_ratio"] = aspectRatio(nil)
        case .string(let size): object["aspect_ratio"] = aspectRatio(size)
        case let other?: throw typeError("size", "a string", other)
        }
        switch json["input_reference"] {
        case nil, .null: break
        case .string(let image): object["image"] = .string(image)
        case .object(let reference):
            if case .string(let url)? = reference["image_url"] {
                object["image"] = .string(url)
            } else if reference["file_id"] != nil {
                throw fileIDUnsupported
            } else {
                throw GatewayError(.invalidJSON, "input_reference must be a string or an object with image_url.", param: "input_reference")
            }
        case let other?: throw typeError("input_reference", "a string or an object", other)
        }
        return object
    }

    /// `seconds` as `duration`. Text that is no whole number becomes 0, which no model accepts, so
    /// that it is refused as `invalid_duration` (listing the accepted values) in its place in the check order.
    static func duration(_ seconds: String) -> JSONValue {
        guard let value = Int(seconds.trimmingCharacters(in: .whitespaces)), (1...3600).contains(value) else { return .number(0) }
        return .number(Double(value))
    }

    /// `size` as `aspect_ratio`; a size without a ratio of ours is passed on as given, so that it
    /// is refused as `invalid_aspect_ratio` in its place in the check order.
    static func aspectRatio(_ size: String?) -> JSONValue {
        let size = size ?? OpenAISize.defaultSize
        return .string(OpenAISize.aspectRatio(of: size)?.rawValue ?? size)
    }

    /// A refusal of the validator in this surface's terms: its field names, and messages that name them.
    static func surfaceError(_ error: GatewayError) -> GatewayError {
        var error = error
        switch error.param {
        case "duration":
            error.param = "seconds"
            if error.code == .invalidJSON { error.message = "seconds must be a whole number of seconds." }
        case "aspect_ratio":
            error.param = "size"
            error.message = "size must be 1280x720, 720x1280, 1792x1024, 1024x1792, a square size such as 720x720, "
                + "or another exact 16:9 or 9:16 size."
        case "image":
            error.param = "input_reference"
            if error.code == .missingImage {
                error.message = "This model is image-to-video: input_reference (a PNG, JPEG or WebP image) is required."
            }
        default:
            break
        }
        return error
    }

    private static var fileIDUnsupported: GatewayError {
        GatewayError(
            .invalidParameter, "input_reference by file_id is not supported: upload the image or give image_url.", param: "input_reference")
    }

    private static func typeError(_ field: String, _ expected: String, _ got: JSONValue) -> GatewayError {
        GatewayError(.invalidJSON, "The field '\(field)' must be \(expected), not \(got.typeName).", param: field)
    }

    /// The whole body, at most `limit` bytes (413 otherwise).
    /// Parses a form as its chunks arrive (no copy of the whole body is kept besides the parts).
    /// The checks keep api.md's order: a body over `limit` is 413 even when its start is already
    /// malformed, so after a syntax error the rest is still counted (and dropped) up to the limit.
    private static func readForm(_ request: inout Request, boundary: String?, limit: Int) async throws(GatewayError) -> MultipartForm {
        let tooLarge = GatewayError(.payloadTooLarge, "The request body is larger than \(limit) bytes.")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        let reader = boundary.map(MultipartForm.Reader.init(boundary:))
        var failure: MultipartForm.Malformed?
        var received = 0
        do {
            for try await chunk in request.body {
                received += chunk.readableBytes
                if received > limit { throw tooLarge }
                guard failure == nil, let reader else { continue }
                do {
                    try reader.feed(chunk)
                } catch {
                    failure = error
                }
            }
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError(.invalidJSON, "The request body could not be read.")
        }
        guard let reader else {
            throw GatewayError(.invalidJSON, "The multipart/form-data Content-Type has no valid boundary parameter.")
        }
        do throws(MultipartForm.Malformed) {
            if let failure { throw failure }
            return try reader.finish()
        } catch {
            throw GatewayError(.invalidJSON, "The multipart/form-data body is malformed: \(error.reason).")
        }
    }
}
