import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Runs `body` with a fresh `HTTPClient`, shut down afterwards whether `body` throws or not.
func withHTTP<T>(_ body: (TestHTTP) async throws -> T) async throws -> T {
    let client = HTTPClient()
    do {
        let result = try await body(TestHTTP(client: client))
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// HTTP to the servers under test, on 127.0.0.1 only.
struct TestHTTP {
    let client: HTTPClient

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func send(_ method: HTTPMethod, _ url: String, bearer: String? = nil, json: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView))
    }

    /// Polls a job until it is `completed` or `error`; records an issue and returns the last view after `timeout`.
    func waitForFinal(_ base: String, id: String, key: String, timeout: Duration = .seconds(120)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            last = try await send(.GET, "\(base)/v1/video/\(id)", bearer: key).json
            if let status = last["status"] as? String, status == "completed" || status == "error" { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("job \(id) did not finish within \(timeout); last seen: \(last)")
        return last
    }
}
