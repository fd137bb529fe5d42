import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Signs and sends requests to one bucket, retrying 5xx answers (`SlowDown` included) and
/// connection failures with exponential backoff, a bounded number of times.
struct S3Transport: Sendable {
    let client: HTTPClient
    let configuration: S3Configuration
    let signer: SigV4Signer
    let maxAttempts: Int
    let now: @Sendable () -> Date

    /// One S3 call. `body` is asked again for every attempt, so a streamed body starts over.
    struct Call: Sendable {
        var method: HTTPMethod
        /// The prefixed object key, nil for the bucket itself.
        var objectKey: String?
        var query: [(String, String)] = []
        var headers: [(String, String)] = []
        /// Hex SHA-256 of the body, or `SigV4Signer.unsignedPayload`.
        var payloadHash = SigV4Signer.emptyPayloadHash
        var body: (@Sendable () throws -> HTTPClientRequest.Body)?
        var timeout: TimeAmount = .seconds(60)
        /// Attempts for this call; nil: the transport's.
        var attempts: Int?

        var operation: String { "\(method.rawValue) \(objectKey ?? "bucket")" }
    }

    /// Sends `call` and returns the answer of the last attempt, whatever its status below 500;
    /// a 5xx that stays after the last attempt is thrown as `S3Error`.
    func send(_ call: Call) async throws -> HTTPClientResponse {
        let attempts = max(1, call.attempts ?? maxAttempts)
        var attempt = 1
        while true {
            let started = ContinuousClock.now
            do {
                let response = try await client.execute(try request(call), timeout: call.timeout)
                let status = Int(response.status.code)
                guard status >= 500, attempt < attempts else {
                    if status >= 500 { throw await Self.failure(call.operation, response) }
                    return response
                }
                _ = try? await response.body.collect(upTo: 64 * 1024)
            } catch let error as S3Error {
                throw error
            } catch {
                // AsyncHTTPClient retries failed connections until the deadline by itself: an
                // attempt that used up its whole time is not tried again.
                let quick = ContinuousClock.now - started < .nanoseconds(call.timeout.nanoseconds) * 0.9
                guard attempt < attempts, Self.isTransient(error), quick else { throw error }
            }
            try await Task.sleep(for: Self.backoff(attempt: attempt))
            attempt += 1
        }
    }

    /// Sends `call` and throws `S3Error` unless the answer is 2xx; returns the answer with its body unread.
    func expectSuccess(_ call: Call) async throws -> HTTPClientResponse {
        let response = try await send(call)
        guard (200..<300).contains(Int(response.status.code)) else { throw await Self.failure(call.operation, response) }
        return response
    }

    /// The signed request of one attempt, dated now.
    func request(_ call: Call) throws -> HTTPClientRequest {
        let date = now()
        let path = configuration.path(objectKey: call.objectKey)
        var headers = call.headers
        headers.append(("host", configuration.hostHeader))
        headers.append(("x-amz-date", SigV4Signer.amzDate(date)))
        headers.append(("x-amz-content-sha256", call.payloadHash))
        if let token = configuration.credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        let signature = signer.sign(
            method: call.method.rawValue, path: path, query: call.query, headers: headers, payloadHash: call.payloadHash, date: date)
        var request = HTTPClientRequest(url: configuration.url(path: path, query: SigV4Signer.canonicalQuery(call.query)))
        request.method = call.method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "authorization", value: signature.authorization)
        if let body = call.body { request.body = try body() }
        return request
    }

    /// The error of a non-2xx answer, with S3's `Code` and `Message` when its body has them.
    static func failure(_ operation: String, _ response: HTTPClientResponse) async -> S3Error {
        let body = (try? await response.body.collect(upTo: 64 * 1024)).map { Data($0.readableBytesView) } ?? Data()
        let parsed = S3XML.error(body)
        return S3Error(operation: operation, status: Int(response.status.code), code: parsed?.code, message: parsed?.message)
    }

    /// Connection-level failures worth another attempt; cancellation and request errors are not.
    static func isTransient(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        if let error = error as? HTTPClientError {
            return [
                .connectTimeout, .remoteConnectionClosed, .readTimeout, .writeTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout, .uncleanShutdown,
            ].contains(error)
        }
        // NIO's connection errors (refused, reset, DNS): transient from our point of view.
        return true
    }

    /// 200 ms, 400 ms, 800 ms, ... capped at 5 s, with jitter.
    static func backoff(attempt: Int) -> Duration {
        let base = min(5.0, 0.2 * pow(2.0, Double(attempt - 1)))
        return .milliseconds(Int(base * Double.random(in: 0.5...1.0) * 1000))
    }
}
