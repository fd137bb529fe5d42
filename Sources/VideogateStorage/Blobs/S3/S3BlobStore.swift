import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFileSystem
import NIOHTTP1

/// Result storage in an S3-compatible bucket (AWS S3, MinIO, R2, ...), signed with SigV4.
/// Keys live under the configured prefix. Files larger than `multipartThreshold` go up as a
/// multipart upload in `partSize` parts, smaller ones as one streamed PUT; neither is loaded into
/// memory. 5xx answers and connection failures are retried a bounded number of times.
/// `directURL` answers a presigned GET URL, so clients download straight from the bucket.
public struct S3BlobStore: BlobStore {
    public let configuration: S3Configuration
    /// Files larger than this are uploaded in parts.
    public let multipartThreshold: Int64
    /// Size of every part but the last (S3 requires at least 5 MiB).
    public let partSize: Int64
    let transport: S3Transport
    /// Object GETs whose bodies stream to our clients, on a pool of their own (see `downloadClient`).
    let downloads: S3Transport

    /// - Parameters:
    ///   - client: shared by every request but downloads; the caller owns its lifetime (`HTTPClient.shared` needs none).
    ///   - downloadClient: for object GETs; `S3BlobStore.downloadClient` unless a test needs another.
    ///   - maxAttempts: tries per request when the answer is 5xx or the connection fails.
    ///   - now: the clock of request dates and presigned URL lifetimes.
    public init(
        configuration: S3Configuration, client: HTTPClient = .shared, downloadClient: HTTPClient = S3BlobStore.downloadClient,
        multipartThreshold: Int64 = 16 * 1024 * 1024,
        partSize: Int64 = 8 * 1024 * 1024, maxAttempts: Int = 4, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.multipartThreshold = max(multipartThreshold, 1)
        self.partSize = max(partSize, 1)
        let signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        self.transport = S3Transport(client: client, configuration: configuration, signer: signer, maxAttempts: maxAttempts, now: now)
        self.downloads = S3Transport(client: downloadClient, configuration: configuration, signer: signer, maxAttempts: maxAttempts, now: now)
    }

    /// The process-wide client of object downloads. A download holds its connection for as long as
    /// our client takes to read the body, so downloads get a pool of their own, with a per-host limit
    /// far above AsyncHTTPClient's default of 8: clients that stall cannot starve uploads, HEADs or
    /// readiness, nor each other. No read timeout, since a paused player legitimately stops reading;
    /// the GET's own deadline still bounds it. Like `HTTPClient.shared`, it lives until the process exits.
    public static let downloadClient = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 4096), decompression: .disabled))

    /// Streams the file: one PUT when small, a multipart upload when larger than `multipartThreshold`.
    ///
    /// Streamed bodies are sent with `x-amz-content-sha256: UNSIGNED-PAYLOAD`: hashing first would
    /// read every file twice, and S3 accepts unsigned payloads over http and https alike. Integrity
    /// in transit is TLS's job on https; `Content-Length` still bounds what S3 stores.
    public func put(key: String, from file: URL, contentType: String) async throws {
        let objectKey = try objectKey(key)
        let size = try await Self.fileSize(file)
        if size > multipartThreshold {
            try await multipartUpload(objectKey: objectKey, file: file, size: size, contentType: contentType)
            return
        }
        let path = file.path
        var call = S3Transport.Call(method: .PUT, objectKey: objectKey, headers: [("content-type", contentType)])
        call.payloadHash = SigV4Signer.unsignedPayload
        call.body = { .stream(FileChunks(path: path, offset: 0, length: size), length: .known(size)) }
        call.timeout = Self.uploadTimeout(size)
        try await Self.drain(try await transport.expectSuccess(call))
    }

    /// One PUT with the payload's SHA-256 signed.
    public func put(key: String, data: Data, contentType: String) async throws {
        var call = S3Transport.Call(method: .PUT, objectKey: try objectKey(key), headers: [("content-type", contentType)])
        call.payloadHash = SigV4Signer.sha256Hex(data)
        call.body = { .bytes(data) }
        call.timeout = Self.uploadTimeout(Int64(data.count))
        try await Self.drain(try await transport.expectSuccess(call))
    }

    /// HEAD object: size, `Content-Type`, `ETag` and `Last-Modified`; nil on 404.
    public func head(key: String) async throws -> BlobInfo? {
        let call = S3Transport.Call(method: .HEAD, objectKey: try objectKey(key))
        let response = try await transport.send(call)
        if response.status == .notFound { return nil }
        guard response.status.code / 100 == 2 else { throw await S3Transport.failure(call.operation, response) }
        guard let size = response.headers.first(name: "content-length").flatMap({ Int64($0) }) else {
            throw S3Error(operation: call.operation, status: 0, code: nil, message: "the answer has no Content-Length")
        }
        let modified = response.headers.first(name: "last-modified").flatMap(Self.httpDate) ?? Date(timeIntervalSince1970: 0)
        return BlobInfo(
            size: size, contentType: response.headers.first(name: "content-type") ?? "application/octet-stream",
            etag: response.headers.first(name: "etag") ?? "\"\(size)-\(Int(modified.timeIntervalSince1970))\"", modifiedAt: modified)
    }

    /// GET object (with `Range: bytes=a-b` for a range), its body pulled from the connection as
    /// `body` consumes it: AsyncHTTPClient stops reading the socket while `body` waits, so a slow
    /// consumer holds a few buffers, not the object.
    /// - Throws: `S3Error` with `isNotFound` when the object does not exist (before `body` is called).
    public func read<Result>(key: String, range: ClosedRange<Int64>?, _ body: (BlobChunks) async throws -> Result) async throws -> Result {
        var call = S3Transport.Call(method: .GET, objectKey: try objectKey(key))
        if let range { call.headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        call.timeout = .hours(6)
        let response = try await downloads.expectSuccess(call)
        // A server that ignores Range answers 200 with the whole object: cut the range out ourselves.
        guard let range, response.status != .partialContent else { return try await body(BlobChunks(response.body)) }
        return try await body(BlobChunks(ByteWindow(base: response.body, skip: range.lowerBound, length: range.upperBound - range.lowerBound + 1)))
    }

    /// DELETE object; an absent object (204 or 404) is fine, a missing bucket is not.
    public func delete(key: String) async throws {
        let call = S3Transport.Call(method: .DELETE, objectKey: try objectKey(key))
        let response = try await transport.send(call)
        if response.status.code / 100 == 2 { return try await Self.drain(response) }
        let failure = await S3Transport.failure(call.operation, response)
        if failure.status == 404, failure.code != "NoSuchBucket" { return }
        throw failure
    }

    /// HEAD bucket: throws when the service cannot be reached, the bucket is missing or we may not use it.
    public func ping() async throws {
        var call = S3Transport.Call(method: .HEAD, objectKey: nil)
        // One attempt: AsyncHTTPClient already retries failed connections until the deadline,
        // and a readiness probe must answer quickly.
        call.attempts = 1
        call.timeout = .seconds(5)
        let response = try await transport.send(call)
        guard response.status.code / 100 == 2 else { throw await S3Transport.failure("HEAD bucket \(configuration.bucket)", response) }
    }

    /// A presigned GET URL valid until `expires` (at most 7 days, S3's limit; at least 1 second).
    /// With temporary credentials the URL also stops working when the session token expires.
    public func directURL(key: String, expires: Date) async throws -> URL? {
        let date = transport.now()
        let seconds = Int(expires.timeIntervalSince(date).rounded(.up))
        let path = configuration.path(objectKey: try objectKey(key))
        let (query, _) = transport.signer.presign(
            method: "GET", path: path, host: configuration.hostHeader, expires: seconds, date: date)
        return URL(string: configuration.url(path: path, query: query))
    }

    // MARK: Helpers

    /// The object key of `key` under the prefix. Keys are relative paths, as for `LocalBlobStore`.
    func objectKey(_ key: String) throws -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, !key.hasPrefix("/"), !key.contains("\0"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw LocalBlobStore.InvalidKey(key: key)
        }
        return configuration.objectKey(key)
    }

    static func fileSize(_ file: URL) async throws -> Int64 {
        guard let info = try await FileSystem.shared.info(forFileAt: FilePath(file.path)) else { throw POSIXError(.ENOENT) }
        return info.size
    }

    /// A minute, plus a second per MiB (at least 1 MiB/s).
    static func uploadTimeout(_ bytes: Int64) -> TimeAmount { .seconds(60 + bytes / (1024 * 1024)) }

    static func drain(_ response: HTTPClientResponse) async throws {
        for try await _ in response.body {}
    }

    /// An RFC 9110 IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
