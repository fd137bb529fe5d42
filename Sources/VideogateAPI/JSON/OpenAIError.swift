import Hummingbird
import VideogateDomain

/// Which error body a path answers with: ours everywhere, OpenAI's on the OpenAI-compatible
/// surface (`/v1/videos` and below), whose SDK reads `error.code`, `error.param` and `error.type`.
enum ErrorFormat: Sendable {
    case videogate
    case openAI

    init(path: String) {
        self = path == "/v1/videos" || path.hasPrefix("/v1/videos/") ? .openAI : .videogate
    }
}

/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`, with our code in `code`.
struct OpenAIErrorBody: Encodable {
    struct Detail: Encodable {
        let message: String
        let type: String
        let param: String?
        let code: String

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message, forKey: .message)
            try container.encode(type, forKey: .type)
            // Always present, `null` when there is no field at fault (as OpenAI sends it).
            try container.encode(param, forKey: .param)
            try container.encode(code, forKey: .code)
        }

        enum CodingKeys: String, CodingKey { case message, type, param, code }
    }

    let error: Detail

    /// OpenAI's error `type` for a status: what its SDK users branch on besides the status itself.
    static func type(forStatus status: Int) -> String {
        switch status {
        case 401: "authentication_error"
        case 402: "insufficient_quota"
        case 403: "permission_error"
        case 429: "rate_limit_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }

    /// Every `type` the surface sends, for the OpenAPI document.
    static let allTypes = [
        "invalid_request_error", "authentication_error", "insufficient_quota", "permission_error", "rate_limit_error", "server_error",
    ]

    /// An error of this surface as a response, with extra headers.
    static func response(
        status: HTTPResponse.Status, code: String, message: String, param: String? = nil, headers: HTTPFields = [:]
    ) -> Response {
        let body = OpenAIErrorBody(error: Detail(message: message, type: type(forStatus: status.code), param: param, code: code))
        return JSONResponse.make(body, status: status, headers: headers)
    }
}

extension GatewayError {
    /// The error as a response in `format`, with extra headers (rate-limit figures, `Allow`).
    func response(headers: HTTPFields, format: ErrorFormat) -> Response {
        switch format {
        case .videogate:
            return response(headers: headers)
        case .openAI:
            var headers = headers
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
            return OpenAIErrorBody.response(status: status, code: code.rawValue, message: message, param: param, headers: headers)
        }
    }
}
