import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFileSystem
import NIOFoundationCompat
import NIOHTTP1
import Tracing
import VideogateDomain

/// How an adapter talks to its provider's API: the process's one AsyncHTTPClient, at most
/// `limiter.limit` calls at once to this provider, a time bound per call, and failures sorted
/// into retryable (network, time-out, 408, 429, 5xx), refused credentials and final (`ErrorClass`). Result files at URLs the provider
/// returns are fetched through `outbound`, under the outbound rules.
public struct ProviderHTTP: Sendable {
    public let client: HTTPClient
    public let outbound: OutboundClient
    public let limiter: ConcurrencyLimiter
    /// Longest time one API call may take.
    public var callTimeout: TimeAmount
    /// Largest result file accepted.
    public var maxResultBytes: Int64

    public init(
        client: HTTPClient, outbound: OutboundClient, concurrency: Int, callTimeout: TimeAmount = .seconds(60),
        maxResultBytes: Int64 = 2 << 30
    ) {
        self.client = client
        self.outbound = outbound
        self.limiter = ConcurrencyLimiter(limit: concurrency)
        self.callTimeout = callTimeout
        self.maxResultBytes = maxResultBytes
    }

    /// An answer of the provider's API, whatever its status.
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: Data

        public init(status: Int, headers: HTTPHeaders = [:], body: Data = Data()) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public var isSuccess: Bool { (200..<300).contains(status) }
        /// 408, 429 and 5xx: the same call may work later.
        public var isRetryable: Bool { status == 408 || status == 429 || status >= 500 }
        /// `Retry-After` in seconds (delta-seconds or an HTTP date).
        public var retryAfter: TimeInterval? { RetryAfter.seconds(headers.first(name: "retry-after")) }

        /// The body decoded as `T`; a body that is not the documented JSON is a retryable failure
        /// (the next poll may read fine), named for `provider`.
        public func decode<T: Decodable>(_ type: T.Type, provider: String) throws(ProviderFailure) -> T {
            do {
                return try JSONDecoder().decode(T.self, from: body)
            } catch {
                throw .retryable("\(provider) answered HTTP \(status) with a body that is not the documented JSON", retryAfter: nil)
            }
        }

        /// The failure for a non-2xx answer (or a 2xx one carrying an error code), named for the
        /// provider with its code and message. `documented` is the class the provider's own
        /// documentation gives `code` (see docs/providers/errors.md); without one the status decides:
        /// retryable for 408, 429 and 5xx, a refused credential for 401, 402 and 403, otherwise a
        /// final `provider_error`.
        public func failure(provider: String, code: String?, message: String?, documented: ErrorClass? = nil) -> ProviderFailure {
            let detail = [code, message].compactMap { $0?.isEmpty == false ? $0 : nil }.joined(separator: ": ")
            let text = "\(provider) answered HTTP \(status)" + (detail.isEmpty ? "" : " (\(detail))")
            switch documented ?? statusClass {
            case .retryable: return .retryable(text, retryAfter: retryAfter)
            case .credential: return .credentialRefused(text)
            case .request: return .final(JobFailure(.providerError, text))
            }
        }

        /// The class of the status alone.
        var statusClass: ErrorClass {
            if isRetryable { return .retryable }
            if status == 401 || status == 402 || status == 403 { return .credential }
            return .request
        }
    }

    /// Sends one request. A network failure or time-out throws `.retryable`; every HTTP status is returned.
    /// The answer's body is collected up to `maxBodyBytes` (16 MiB; Vertex AI's inline videos need more);
    /// a longer one is a retryable failure.
    /// Each call is a client span (provider, credential, method, URL without its query, upstream
    /// status) and carries the span's `traceparent`.
    public func send(
        _ method: HTTPMethod, _ url: String, headers: HTTPHeaders, body: Data? = nil, maxBodyBytes: Int = 16 << 20
    ) async throws(ProviderFailure) -> Response {
        try await Self.traced(method, url) { span throws(ProviderFailure) in
            var headers = headers
            Traces.inject(into: &headers)
            let response = try await perform(method, url, headers: headers, body: body, maxBodyBytes: maxBodyBytes)
            span.attributes["http.response.status_code"] = response.status
            if response.status >= 400 { span.setStatus(SpanStatus(code: .error)) }
            return response
        }
    }

    /// A span for one call to a provider's API, named after the provider and the method.
    static func traced<T>(
        _ method: HTTPMethod, _ url: String, _ operation: (any Span) async throws(ProviderFailure) -> T
    ) async throws(ProviderFailure) -> T {
        let call = ServiceContext.current?.providerCall
        var attributes: [String: SpanAttribute] = ["http.request.method": .string(method.rawValue), "url.full": .string(redacted(url))]
        if let call {
            attributes["videogate.provider"] = .string(call.provider)
            attributes["videogate.credential"] = .string(call.credential)
        }
        let name = call.map { "\($0.provider) \(method.rawValue)" } ?? method.rawValue
        return try await Traces.span(name, ofKind: .client, attributes: attributes, operation)
    }

    private func perform(
        _ method: HTTPMethod, _ url: String, headers: HTTPHeaders, body: Data?, maxBodyBytes: Int
    ) async throws(ProviderFailure) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        do {
            return try await limiter.withPermit {
                let response = try await client.execute(request, timeout: callTimeout)
                let collected = try await response.body.collect(upTo: maxBodyBytes)
                return Response(status: Int(response.status.code), headers: response.headers, body: Data(buffer: collected))
            }
        } catch is CancellationError {
            throw .retryable("the call was cancelled", retryAfter: nil)
        } catch {
            throw .retryable("\(method.rawValue) \(Self.redacted(url)) failed: \(Self.describe(error))", retryAfter: nil)
        }
    }

    /// Streams a GET of a path of the provider's own API (Sora's `/content`) into `destination`,
    /// with the API's credentials. A redirect is followed through `outbound`, without them.
    public func download(_ url: String, headers: HTTPHeaders, to destination: URL, provider: String) async throws(ProviderFailure) {
        try await Self.traced(.GET, url) { _ throws(ProviderFailure) in
            var headers = headers
            Traces.inject(into: &headers)
            try await downloadUntraced(url, headers: headers, to: destination, provider: provider)
        }
    }

    private func downloadUntraced(_ url: String, headers: HTTPHeaders, to destination: URL, provider: String) async throws(ProviderFailure) {
        var request = HTTPClientRequest(url: url)
        request.headers = headers
        let outcome: Result<String?, ProviderFailure>
        do {
            outcome = try await limiter.withPermit { () async throws -> Result<String?, ProviderFailure> in
                let response = try await client.execute(request, timeout: .hours(1))
                let status = Int(response.status.code)
                if (300..<400).contains(status), let location = response.headers.first(name: "location") {
                    return .success(URL(string: location, relativeTo: URL(string: url))?.absoluteString ?? location)
                }
                guard (200..<300).contains(status) else {
                    let body = try await response.body.collect(upTo: 1 << 20)
                    let answer = Response(status: status, headers: response.headers, body: Data(buffer: body))
                    return .failure(answer.failure(provider: provider, code: nil, message: "downloading the video"))
                }
                try await Self.write(response.body, to: destination, maxBytes: maxResultBytes)
                return .success(nil)
            }
        } catch let failure as ProviderFailure {
            throw failure
        } catch {
            throw .retryable("downloading the video from \(provider) failed: \(Self.describe(error))", retryAfter: nil)
        }
        switch outcome {
        case .failure(let failure): throw failure
        case .success(nil): return
        case .success(let location?): try await fetchResultFile(location, headers: [], to: destination, provider: provider)
        }
    }

    /// Streams a result file at a URL the provider returned into `destination`, under the outbound
    /// rules. `headers` (a provider key) go only to the URL's own host, never to a redirect target elsewhere.
    public func fetchResultFile(_ url: String, headers: [(String, String)], to destination: URL, provider: String) async throws(ProviderFailure) {
        try await Self.traced(.GET, url) { _ throws(ProviderFailure) in
            try await fetchResultFileUntraced(url, headers: headers, to: destination, provider: provider)
        }
    }

    private func fetchResultFileUntraced(_ url: String, headers: [(String, String)], to destination: URL, provider: String) async throws(ProviderFailure) {
        do {
            _ = try await outbound.download(url, headers: headers, to: destination, maxBytes: maxResultBytes)
        } catch {
            switch error {
            case .refused(let reason):
                throw .final(JobFailure(.providerError, "\(provider) returned a result URL that the outbound rules refuse: \(reason)."))
            case .tooLarge(let limit):
                throw .final(JobFailure(.providerError, "\(provider) returned a result file larger than \(limit) bytes."))
            case .status(let status) where status == 404 || status == 410 || status == 403:
                // The provider's link is gone; polling again yields a fresh one where the provider gives one.
                throw .retryable("\(provider)'s result URL answered HTTP \(status)", retryAfter: nil)
            case .status(let status):
                throw .retryable("\(provider)'s result URL answered HTTP \(status)", retryAfter: nil)
            case .network(let reason):
                throw .retryable("downloading the result from \(provider) failed: \(reason)", retryAfter: nil)
            }
        }
    }

    /// Writes the body to `destination` as it arrives, through NIOFileSystem (NIO's I/O threads, not
    /// the Swift concurrency pool); the next buffer is pulled once the previous one is written.
    static func write(_ body: HTTPClientResponse.Body, to destination: URL, maxBytes: Int64) async throws {
        try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(destination.path), options: .newFile(replaceExisting: true)) { handle in
            var writer = handle.bufferedWriter()
            var written: Int64 = 0
            for try await buffer in body {
                written += Int64(buffer.readableBytes)
                guard written <= maxBytes else {
                    throw ProviderFailure.final(JobFailure(.providerError, "The result file is larger than \(maxBytes) bytes."))
                }
                try await writer.write(contentsOf: buffer)
            }
            try await writer.flush()
        }
    }

    /// The URL without its query (which may carry signatures), for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "the provider URL" }
        components.query = nil
        components.user = nil
        components.password = nil
        return components.string ?? "the provider URL"
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return String(describing: error) }
        return String(describing: type(of: error)) + ": " + String(describing: error)
    }
}

extension Character {
    /// 0-9 only.
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// What a provider's documented error code says about a failed call, which decides whether a
/// create moves to the next credential and whether the failure counts against the credential's health.
public enum ErrorClass: Sendable, Equatable {
    /// The same call may work later, here or on another credential: throttling, overload, internal
    /// errors (`ProviderFailure.retryable`).
    case retryable
    /// The credential itself is broken or cannot pay: bad or expired key, arrears, no balance,
    /// model not activated for the account, quota exhausted (`ProviderFailure.credentialRefused`).
    case credential
    /// The caller's own request: bad parameters, unknown resource (`ProviderFailure.final`).
    case request

    /// The class of `code` in a provider's table of codes. A dotted code without an entry of its own
    /// takes its parent's (`RateLimitExceeded.EndpointRPMExceeded` that of `RateLimitExceeded`);
    /// nil when neither the code nor a parent is in the table.
    public static func of(_ code: String?, in table: [String: ErrorClass]) -> ErrorClass? {
        guard var code, !code.isEmpty else { return nil }
        while true {
            if let known = table[code] { return known }
            guard let dot = code.lastIndex(of: ".") else { return nil }
            code = String(code[..<dot])
        }
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP date (RFC 9110).
public enum RetryAfter {
    public static func seconds(_ value: String?, now: Date = Date()) -> TimeInterval? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.allSatisfy(\.isASCIIDigit) { return Int(value).map(TimeInterval.init) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        // IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept (RFC 9110 5.6.7).
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: value) { return max(0, date.timeIntervalSince(now)) }
        }
        return nil
    }
}
