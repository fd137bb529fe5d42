import Foundation
import Hummingbird
import VideogateDomain

/// Our error body: `{"success": false, "error": code, "message": sentence, "param": field?}`.
struct ErrorBody: Encodable {
    let success = false
    let error: String
    let message: String
    let param: String?
}

extension GatewayError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: code.status) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response(headers: [:])
    }

    /// The error as a response, with extra headers (rate-limit figures, `Allow`).
    func response(headers: HTTPFields) -> Response {
        var headers = headers
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return JSONResponse.make(ErrorBody(error: code.rawValue, message: message, param: param), status: status, headers: headers)
    }
}

/// JSON responses in UTF-8.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        do {
            let data = try encoder.encode(value)
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        } catch {
            let fallback = #"{"success":false,"error":"internal_error","message":"The response could not be encoded."}"#
            return Response(status: .internalServerError, headers: headers, body: .init(byteBuffer: ByteBuffer(string: fallback)))
        }
    }
}

extension Date {
    /// RFC 3339 UTC with whole seconds, as the API shows times.
    var rfc3339: String { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)).formatted(.iso8601) }
}
