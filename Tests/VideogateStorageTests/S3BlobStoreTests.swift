import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ProviderFakes
import Testing
@testable import VideogateStorage

/// The S3-compatible server `scripts/with-services` starts (moto): `VIDEOGATE_TEST_S3_ENDPOINT`.
enum TestS3 {
    static var endpoint: String? {
        guard let value = ProcessInfo.processInfo.environment["VIDEOGATE_TEST_S3_ENDPOINT"], !value.isEmpty else { return nil }
        return value
    }
    static var required: Bool { ProcessInfo.processInfo.environment["VIDEOGATE_TEST_REQUIRE_SERVICES"] == "1" }

    static func bucketName() -> String { "vg-test-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20) }

    /// A store on a new bucket of its own (moto accepts any credentials).
    static func store(
        bucket: String = bucketName(), prefix: String = "", pathStyle: Bool = true, endpoint: String? = TestS3.endpoint,
        client: HTTPClient = .shared, downloadClient: HTTPClient = S3BlobStore.downloadClient, multipartThreshold: Int64 = 16 * 1024 * 1024, partSize: Int64 = 8 * 1024 * 1024, create: Bool = true
    ) async throws -> S3BlobStore {
        guard let endpoint else { throw S3Error(operation: "test setup", status: 0, code: nil, message: "VIDEOGATE_TEST_S3_ENDPOINT is not set") }
        let configuration = try S3Configuration(
            bucket: bucket, prefix: prefix, region: "us-east-1", endpoint: endpoint, pathStyle: pathStyle,
            credentials: .init(accessKeyID: "test", secretAccessKey: "test"))
        let store = S3BlobStore(
            configuration: configuration, client: client, downloadClient: downloadClient, multipartThreshold: multipartThreshold, partSize: partSize)
        if create { try await store.createBucket() }
        return store
    }

    static func read(_ store: S3BlobStore, _ key: String, _ range: ClosedRange<Int64>? = nil) async throws -> Data {
        try await store.read(key: key, range: range) { try await $0.collect(upTo: 64 * 1024 * 1024) }
    }

    /// A plain GET without any of our headers, as a browser or video player would send it.
    static func fetch(_ url: String, client: HTTPClient = .shared) async throws -> (status: Int, body: Data) {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return (Int(response.status.code), Data(body.readableBytesView))
    }

    /// A file of `count` patterned bytes in the temporary directory.
    static func file(bytes count: Int) throws -> (url: URL, data: Data) {
        let data = Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 13) })
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vg-s3-\(UUID().uuidString).bin")
        try data.write(to: url)
        return (url, data)
    }
}

/// A run that must have the services fails here when the S3 server is missing.
@Test(.enabled(if: TestS3.required))
func s3IsConfiguredWhenServicesAreRequired() {
    #expect(TestS3.endpoint != nil, "VIDEOGATE_TEST_REQUIRE_SERVICES=1 but VIDEOGATE_TEST_S3_ENDPOINT is not set")
}

@Suite("S3 blob store against an S3-compatible server", .enabled(if: TestS3.endpoint != nil))
struct S3BlobStoreTests {
    @Test func putDataHeadAndReadWholeAndRanges() async throws {
        let store = try await TestS3.store()
        let bytes = Data((0..<200_000).map { UInt8($0 % 251) })
        try await store.put(key: "videos/req_1.mp4", data: bytes, contentType: "video/mp4")
        let info = try #require(try await store.head(key: "videos/req_1.mp4"))
        #expect(info.size == 200_000 && info.contentType == "video/mp4" && info.etag.hasPrefix("\""))
        #expect(abs(info.modifiedAt.timeIntervalSinceNow) < 300)
        #expect(try await TestS3.read(store, "videos/req_1.mp4") == bytes)
        #expect(try await TestS3.read(store, "videos/req_1.mp4", 100...199) == bytes[100...199])
        #expect(try await TestS3.read(store, "videos/req_1.mp4", 65_000...140_000) == bytes[65_000...140_000])
        try await store.put(key: "videos/req_1.mp4", data: Data("other".utf8), contentType: "video/mp4")
        #expect(try await store.head(key: "videos/req_1.mp4")?.etag != info.etag)
        #expect(try await store.head(key: "videos/absent.mp4") == nil)
    }

    @Test func keysNeedingEncodingRoundTrip() async throws {
        let store = try await TestS3.store()
        let key = "inputs/a b+c=d&e~(1).jpg"
        try await store.put(key: key, data: Data("jpeg".utf8), contentType: "image/jpeg")
        #expect(try await store.head(key: key)?.contentType == "image/jpeg")
        #expect(try await TestS3.read(store, key) == Data("jpeg".utf8))
        #expect(try await store.listObjectKeys() == [key])
    }

    @Test func readingAMissingObjectThrowsNotFound() async throws {
        let store = try await TestS3.store()
        let error = await #expect(throws: S3Error.self) { try await store.read(key: "videos/none.mp4", range: nil) { _ in } }
        #expect(error?.isNotFound == true && error?.code == "NoSuchKey")
    }

    @Test func aSmallFileGoesUpInOnePut() async throws {
        let store = try await TestS3.store()
        let (file, data) = try TestS3.file(bytes: 700_000)
        defer { try? FileManager.default.removeItem(at: file) }
        try await store.put(key: "videos/small.mp4", from: file, contentType: "video/mp4")
        let info = try #require(try await store.head(key: "videos/small.mp4"))
        #expect(info.size == 700_000 && info.contentType == "video/mp4")
        #expect(!info.etag.contains("-"), "a single PUT has a plain MD5 ETag: \(info.etag)")
        #expect(try await TestS3.read(store, "videos/small.mp4") == data)
        #expect(FileManager.default.fileExists(atPath: file.path))
    }

    @Test func aLargeFileGoesUpInPartsAndReadsBackIdentical() async throws {
        let fiveMiB: Int64 = 5 * 1024 * 1024
        let store = try await TestS3.store(multipartThreshold: fiveMiB, partSize: fiveMiB)
        let (file, data) = try TestS3.file(bytes: 11 * 1024 * 1024 + 123)
        defer { try? FileManager.default.removeItem(at: file) }
        try await store.put(key: "videos/large.mp4", from: file, contentType: "video/mp4")
        let info = try #require(try await store.head(key: "videos/large.mp4"))
        #expect(info.size == Int64(data.count) && info.contentType == "video/mp4")
        #expect(info.etag.hasSuffix("-3\""), "a three-part upload's ETag ends in -3: \(info.etag)")
        #expect(try await TestS3.read(store, "videos/large.mp4") == data)
        let tail = Int64(data.count - 10)...Int64(data.count - 1)
        #expect(try await TestS3.read(store, "videos/large.mp4", tail) == data.suffix(10))
    }

    @Test func aFailedMultipartUploadIsAbortedAndThrows() async throws {
        let fiveMiB: Int64 = 5 * 1024 * 1024
        let store = try await TestS3.store(create: false)
        let missing = S3BlobStore(configuration: store.configuration, multipartThreshold: fiveMiB, partSize: fiveMiB)
        let (file, _) = try TestS3.file(bytes: 6 * 1024 * 1024)
        defer { try? FileManager.default.removeItem(at: file) }
        let error = await #expect(throws: S3Error.self) { try await missing.put(key: "videos/x.mp4", from: file, contentType: "video/mp4") }
        #expect(error?.status == 404 && error?.code == "NoSuchBucket")
    }

    @Test func deleteThenHeadIsNilAndDeletingAgainIsFine() async throws {
        let store = try await TestS3.store()
        try await store.put(key: "videos/d.mp4", data: Data("x".utf8), contentType: "video/mp4")
        try await store.delete(key: "videos/d.mp4")
        #expect(try await store.head(key: "videos/d.mp4") == nil)
        try await store.delete(key: "videos/d.mp4")
    }

    @Test func presignedURLServesTheBytesWithoutAuthentication() async throws {
        let store = try await TestS3.store(prefix: "results")
        let bytes = Data((0..<50_000).map { UInt8($0 % 199) })
        try await store.put(key: "videos/p.mp4", data: bytes, contentType: "video/mp4")
        let url = try #require(try await store.directURL(key: "videos/p.mp4", expires: Date().addingTimeInterval(86_400)))
        #expect(url.absoluteString.hasPrefix("\(TestS3.endpoint!)/\(store.configuration.bucket)/results/videos/p.mp4?"))
        #expect(url.absoluteString.contains("X-Amz-Expires=86400&"))
        let fetched = try await TestS3.fetch(url.absoluteString)
        #expect(fetched.status == 200 && fetched.body == bytes)
        // Without the signature the object is private. (moto does not check presigned signatures or
        // their expiry, so a tampered or expired URL cannot be shown to fail here; the signature
        // itself is checked against AWS's published example in SigV4Tests.)
        let unsigned = String(url.absoluteString.prefix { $0 != "?" })
        #expect(try await TestS3.fetch(unsigned).status == 403)
    }

    @Test func pingSucceedsOnTheBucketAndThrowsWithoutIt() async throws {
        let store = try await TestS3.store()
        try await store.ping()
        let missing = try await TestS3.store(create: false)
        let error = await #expect(throws: S3Error.self) { try await missing.ping() }
        #expect(error?.status == 404)
        // Nothing listens on port 9 of 127.0.0.1: the connection failure is thrown after the retries.
        let unreachable = try await TestS3.store(endpoint: "http://127.0.0.1:9", create: false)
        await #expect(throws: (any Error).self) { try await unreachable.ping() }
    }

    @Test func keysLiveUnderThePrefix() async throws {
        let bucket = TestS3.bucketName()
        let store = try await TestS3.store(bucket: bucket, prefix: "results/v1")
        try await store.put(key: "videos/a.mp4", data: Data("a".utf8), contentType: "video/mp4")
        let root = try await TestS3.store(bucket: bucket, create: false)
        #expect(try await root.listObjectKeys() == ["results/v1/videos/a.mp4"])
        #expect(try await root.head(key: "results/v1/videos/a.mp4")?.size == 1)
        #expect(try await root.head(key: "videos/a.mp4") == nil)
        #expect(try await store.head(key: "videos/a.mp4")?.size == 1)
    }

    @Test(arguments: ["", "/abs", "a/../b", "a//b"])
    func invalidKeysAreRefused(key: String) async throws {
        let store = try await TestS3.store(create: false)
        await #expect(throws: LocalBlobStore.InvalidKey.self) { try await store.put(key: key, data: Data(), contentType: "x") }
    }

    /// Virtual-host style: the bucket in the Host header. `bucket.localhost` is sent to the test
    /// server's address with AsyncHTTPClient's DNS override.
    @Test func virtualHostStyleAddressesTheBucketByHostName() async throws {
        let address = try #require(TestS3.endpoint)
        let endpoint = try #require(URLComponents(string: address))
        let bucket = TestS3.bucketName()
        var configuration = HTTPClient.Configuration()
        configuration.dnsOverride = ["\(bucket).localhost": try #require(endpoint.host)]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let store = try await TestS3.store(
                bucket: bucket, prefix: "vh", pathStyle: false, endpoint: "http://localhost:\(endpoint.port ?? 80)", client: client,
                downloadClient: client)
            #expect(store.configuration.hostHeader == "\(bucket).localhost:\(endpoint.port ?? 80)")
            try await store.put(key: "videos/v.mp4", data: Data("virtual".utf8), contentType: "video/mp4")
            #expect(try await store.head(key: "videos/v.mp4")?.size == 7)
            #expect(try await TestS3.read(store, "videos/v.mp4") == Data("virtual".utf8))
            let url = try #require(try await store.directURL(key: "videos/v.mp4", expires: Date().addingTimeInterval(600)))
            #expect(url.host == "\(bucket).localhost")
            #expect(try await TestS3.fetch(url.absoluteString, client: client).body == Data("virtual".utf8))
            // The same object, seen path style.
            #expect(try await TestS3.store(bucket: bucket, create: false).head(key: "vh/videos/v.mp4")?.size == 7)
            try await store.delete(key: "videos/v.mp4")
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}

/// Retries and error reporting, against a scripted server on 127.0.0.1.
@Suite("S3 blob store retries and errors")
struct S3RetryTests {
    actor Counter {
        var counts: [String: Int] = [:]
        func next(_ name: String) -> Int {
            counts[name, default: 0] += 1
            return counts[name]!
        }
        func count(_ name: String) -> Int { counts[name] ?? 0 }
    }

    static func xml(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/xml"],
            body: .init(byteBuffer: ByteBuffer(string: "<?xml version=\"1.0\"?><Error><Code>\(code)</Code><Message>\(message)</Message></Error>")))
    }

    @Test func slowDownIsRetriedAndClientErrorsAreNotAndCarryS3sCode() async throws {
        let counter = Counter()
        try await LocalServer.run({ router in
            router.put("/b/flaky") { request, _ -> Response in
                let attempt = await counter.next("flaky")
                #expect(request.headers[.authorization]?.hasPrefix("AWS4-HMAC-SHA256 Credential=test/") == true)
                #expect(request.headers[HTTPField.Name("x-amz-content-sha256")!] == SigV4Signer.sha256Hex(Data("body".utf8)))
                if attempt == 1 { return Self.xml(.serviceUnavailable, code: "SlowDown", message: "Please reduce your request rate.") }
                if attempt == 2 { return Response(status: .internalServerError) }
                return Response(status: .ok, headers: [.eTag: "\"e\""])
            }
            router.put("/b/denied") { _, _ -> Response in
                _ = await counter.next("denied")
                return Self.xml(.forbidden, code: "AccessDenied", message: "Access Denied")
            }
            router.put("/b/busy") { _, _ -> Response in
                _ = await counter.next("busy")
                return Self.xml(.serviceUnavailable, code: "SlowDown", message: "Please reduce your request rate.")
            }
        }) { port in
            let configuration = try S3Configuration(
                bucket: "b", endpoint: "http://127.0.0.1:\(port)", pathStyle: true, credentials: .init(accessKeyID: "test", secretAccessKey: "s"))
            let store = S3BlobStore(configuration: configuration, maxAttempts: 3)
            try await store.put(key: "flaky", data: Data("body".utf8), contentType: "text/plain")
            #expect(await counter.count("flaky") == 3)

            let denied = await #expect(throws: S3Error.self) { try await store.put(key: "denied", data: Data("body".utf8), contentType: "text/plain") }
            #expect(denied?.status == 403 && denied?.code == "AccessDenied" && denied?.message == "Access Denied")
            #expect(denied?.description == "S3 PUT denied failed with HTTP 403 AccessDenied: Access Denied")
            #expect(await counter.count("denied") == 1)

            let busy = await #expect(throws: S3Error.self) { try await store.put(key: "busy", data: Data("body".utf8), contentType: "text/plain") }
            #expect(busy?.status == 503 && busy?.code == "SlowDown")
            #expect(await counter.count("busy") == 3, "bounded: maxAttempts tries, then the error")
        }
    }
}
