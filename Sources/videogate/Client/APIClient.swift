import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The client commands' view of the public HTTP API (`videogate generate`, `jobs`, `usage`):
/// one base URL, one API key, JSON in and out.
struct APIClient: Sendable {
    let baseURL: String
    let key: String

    /// A refused or unanswered connection fails after the connect timeout (AsyncHTTPClient keeps
    /// retrying a refused connect until then), so 5 s rather than the shared client's default.
    /// Never shut down: it lives as long as the command.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5), read: nil)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A JSON answer: its status and decoded object (empty when the body is not a JSON object).
    struct Answer: @unchecked Sendable {
        let status: Int
        let object: [String: Any]
        let text: String

        var ok: Bool { (200..<300).contains(status) }
        /// The API's error, `code` and `message` (our JSON error format); for any other body, the status.
        /// Our format is `{"success": false, "error": CODE, "message": ..., "param"?: ...}`.
        var error: APIError {
            APIError(
                code: object["error"] as? String ?? "http_\(status)",
                message: object["message"] as? String ?? (text.isEmpty ? "HTTP \(status)" : String(text.prefix(500))),
                status: status)
        }
    }

    init(baseURL: String, key: String) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.key = key
    }

    func request(_ method: HTTPMethod, _ path: String, json: Data? = nil, headers extra: [(String, String)] = []) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "User-Agent", value: "videogate-cli")
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        return request
    }

    /// Sends one request and reads its JSON answer (up to 16 MiB).
    func send(_ method: HTTPMethod, _ path: String, json: Data? = nil, headers: [(String, String)] = []) async throws -> Answer {
        let response: HTTPClientResponse
        do {
            response = try await Self.http.execute(request(method, path, json: json, headers: headers), timeout: .seconds(60))
        } catch {
            throw APIError.unreachable(baseURL, error)
        }
        let body = try await response.body.collect(upTo: 16 << 20)
        let text = String(buffer: body)
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return Answer(status: Int(response.status.code), object: object, text: text)
    }

    /// Streams `path` into `destination` (through a `.part` file renamed at the end).
    func download(_ path: String, to destination: URL) async throws {
        let response: HTTPClientResponse
        do {
            response = try await Self.http.execute(request(.GET, path), timeout: .hours(1))
        } catch {
            throw APIError.unreachable(baseURL, error)
        }
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            let text = String(buffer: body)
            throw Answer(status: Int(response.status.code), object: (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:], text: text).error
        }
        let partial = destination.appendingPathExtension("part")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
            throw APIError(code: "cannot_write", message: "Cannot write \(partial.path).", status: nil)
        }
        let handle = try FileHandle(forWritingTo: partial)
        do {
            for try await chunk in response.body { try handle.write(contentsOf: Data(buffer: chunk)) }
            try handle.close()
            _ = try? FileManager.default.removeItem(at: destination)
            try FileManager.default.moveItem(at: partial, to: destination)
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
    }

    /// The `data` of each `event: job` of `GET /v1/video/{id}/events` (a job object's JSON), as it
    /// arrives; ends when the server closes the stream.
    func events(of id: String) async throws -> AsyncThrowingStream<String, any Error> {
        let response: HTTPClientResponse
        do {
            response = try await Self.http.execute(
                request(.GET, "/v1/video/\(id)/events", headers: [("Accept", "text/event-stream")]), timeout: .hours(48))
        } catch {
            throw APIError.unreachable(baseURL, error)
        }
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            let text = String(buffer: body)
            throw Answer(status: Int(response.status.code), object: (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:], text: text).error
        }
        let body = response.body
        return AsyncThrowingStream { continuation in
            let task = Task {
                var parser = ServerSentEvents()
                do {
                    for try await chunk in body {
                        for event in parser.feed(chunk.readableBytesView) where event.name == "job" {
                            continuation.yield(event.data)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// A refusal by the API (its error code and message) or a failure to reach it.
struct APIError: Error, CustomStringConvertible {
    let code: String
    let message: String
    let status: Int?

    static func unreachable(_ baseURL: String, _ error: any Error) -> APIError {
        APIError(code: "unreachable", message: "Cannot reach \(baseURL): \(error)", status: nil)
    }

    var description: String { "\(code): \(message)" }
}

/// Splits a `text/event-stream` body into events (the WHATWG rules that matter here: `event:`,
/// `data:` lines joined by newlines, a blank line ends an event, `:` lines are comments). Fed
/// bytes, so a character split between two chunks is decoded whole.
struct ServerSentEvents {
    struct Event: Equatable {
        var name: String
        var data: String
    }

    private var buffer: [UInt8] = []
    private var name = ""
    private var data: [String] = []

    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        var start = 0
        var index = 0
        while index < buffer.count {
            let byte = buffer[index]
            guard byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") else {
                index += 1
                continue
            }
            // A CR that is the last byte may be the first half of a CRLF: wait for the next chunk.
            if byte == UInt8(ascii: "\r") && index + 1 == buffer.count { break }
            let line = String(decoding: buffer[start..<index], as: UTF8.self)
            index += (byte == UInt8(ascii: "\r") && buffer[index + 1] == UInt8(ascii: "\n")) ? 2 : 1
            start = index
            if let event = take(line) { events.append(event) }
        }
        buffer.removeFirst(start)
        return events
    }

    private mutating func take(_ line: String) -> Event? {
        if line.isEmpty {
            defer {
                name = ""
                data = []
            }
            return data.isEmpty ? nil : Event(name: name.isEmpty ? "message" : name, data: data.joined(separator: "\n"))
        }
        if line.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(line)
            value = ""
        }
        switch field {
        case "event": name = String(value)
        case "data": data.append(String(value))
        default: break
        }
        return nil
    }
}
