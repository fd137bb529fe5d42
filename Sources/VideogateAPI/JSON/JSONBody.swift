import Crypto
import Foundation
import Hummingbird
import VideogateDomain

/// A JSON object body with its raw bytes' SHA-256 (for idempotency).
struct JSONBody: Sendable {
    let object: [String: JSONValue]
    let sha256: String

    /// Reads the body with the checks of api.md, in order: media type (415), size (413), JSON object (400).
    static func read(_ request: inout Request, limit: Int) async throws(GatewayError) -> JSONBody {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let mediaType = contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) ?? ""
        guard mediaType == "application/json" else {
            throw GatewayError(.unsupportedMediaType, "The body must be sent as Content-Type: application/json.")
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw GatewayError(.payloadTooLarge, "The request body is larger than \(limit) bytes.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw GatewayError(.payloadTooLarge, "The request body is larger than \(limit) bytes.")
        } catch {
            throw GatewayError(.invalidJSON, "The request body could not be read.")
        }
        let data = Data(buffer: buffer)
        let object: [String: JSONValue]
        do {
            object = try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch {
            throw GatewayError(.invalidJSON, "The body is not a JSON object.")
        }
        let digest = SecretHash.hex(SHA256.hash(data: data))
        return JSONBody(object: object, sha256: digest)
    }
}

extension Data {
    init(buffer: ByteBuffer) {
        self = buffer.withUnsafeReadableBytes { Data($0) }
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// A string field, nil when absent or null; a wrong type is 400 `invalid_parameter` with `param`.
    func string(_ field: String) throws(GatewayError) -> String? {
        switch self[field] {
        case nil, .null: return nil
        case .string(let value): return value
        case let other?: throw GatewayError(.invalidParameter, "The field '\(field)' must be a string, not \(other.typeName).", param: field)
        }
    }

    /// An integer field, nil when absent or null.
    func integer(_ field: String) throws(GatewayError) -> Int? {
        switch self[field] {
        case nil, .null: return nil
        case .number(let value) where value.rounded() == value && abs(value) < 9e15: return Int(value)
        case let other?: throw GatewayError(.invalidParameter, "The field '\(field)' must be an integer, not \(other.typeName).", param: field)
        }
    }
}
