import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VideogateDomain

/// One part of a multipart/form-data body, as a client sends it.
struct FormPart {
    var name: String
    var value: Data
    var filename: String? = nil
    var contentType: String? = nil

    static func text(_ name: String, _ value: String) -> FormPart { FormPart(name: name, value: Data(value.utf8)) }

    /// A file part; the SDK may send no file name and no content type at all.
    static func file(_ name: String, _ data: Data, filename: String? = nil, contentType: String? = nil) -> FormPart {
        FormPart(name: name, value: data, filename: filename, contentType: contentType)
    }
}

/// A multipart/form-data body with a random boundary, as httpx writes it.
func multipartBody(_ parts: [FormPart], boundary: String = "vg-" + Identifier.randomBase62(16)) -> (contentType: String, body: Data) {
    var body = Data()
    for part in parts {
        var disposition = "form-data; name=\"\(part.name)\""
        if let filename = part.filename { disposition += "; filename=\"\(filename)\"" }
        body.append(Data("--\(boundary)\r\nContent-Disposition: \(disposition)\r\n".utf8))
        if let contentType = part.contentType { body.append(Data("Content-Type: \(contentType)\r\n".utf8)) }
        body.append(Data("\r\n".utf8))
        body.append(part.value)
        body.append(Data("\r\n".utf8))
    }
    body.append(Data("--\(boundary)--\r\n".utf8))
    return ("multipart/form-data; boundary=\(boundary)", body)
}

/// The 360x360 PNG of `startPNGBase64`, as bytes.
let startPNG = Data(base64Encoded: startPNGBase64)!

/// Requests to the OpenAI-compatible surface.
extension TestClientProtocol {
    /// `POST /v1/videos` as the SDK sends it: multipart, every field a text part.
    func createVideo(key: String?, _ parts: [FormPart], headers extra: HTTPFields = [:]) async throws -> TestResponse {
        let (contentType, body) = multipartBody(parts)
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        headers[.contentType] = contentType
        return try await execute(uri: "/v1/videos", method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    /// `POST /v1/videos` with a JSON body.
    func createVideo(key: String?, json: String) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await execute(uri: "/v1/videos", method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    /// Creates a video and returns its id.
    func createdVideoID(key: String, prompt: String = "a red fox", model: String = "kling-v2.5-turbo-pro") async throws -> String {
        let response = try await createVideo(key: key, [.text("prompt", prompt), .text("model", model)])
        #expect(response.status == .ok, "create: \(response.text)")
        return try #require(try response.json()["id"] as? String)
    }

    func deleteVideo(_ id: String, key: String?) async throws -> TestResponse {
        // As the SDK sends it: a JSON content type and an empty body.
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await execute(uri: "/v1/videos/\(id)", method: .delete, headers: headers, body: ByteBuffer())
    }

    /// Retrieves until the video is completed or failed, or `timeout` passes.
    func waitForVideo(_ id: String, key: String, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let object = try await get("/v1/videos/\(id)", key: key).json()
            if let status = object["status"] as? String, status == "completed" || status == "failed" { return object }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("video \(id) did not finish within \(timeout)")
        return [:]
    }
}

extension TestResponse {
    /// Asserts OpenAI's error body `{"error": {"message", "type", "param", "code"}}` with this status, code and type.
    func expectOpenAIError(
        _ status: Int, _ code: String, type: String = "invalid_request_error", param: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(self.status.code == status, "status of \(code): \(text)", sourceLocation: sourceLocation)
        let object = try json()
        #expect(object["success"] == nil, "not our error body: \(text)", sourceLocation: sourceLocation)
        let error = try #require(object["error"] as? [String: Any], "body: \(text)", sourceLocation: sourceLocation)
        #expect(error["code"] as? String == code, "body: \(text)", sourceLocation: sourceLocation)
        #expect(error["type"] as? String == type, "body: \(text)", sourceLocation: sourceLocation)
        #expect((error["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(error.keys.contains("param"), "param is always present", sourceLocation: sourceLocation)
        if let param { #expect(error["param"] as? String == param, "body: \(text)", sourceLocation: sourceLocation) }
        #expect(headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    }
}

/// A clock the test moves by hand.
final class ManualClock: WallClock {
    private let current: Mutex<Date>
    init(_ start: Date = Date()) { current = Mutex(start) }
    func now() -> Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
