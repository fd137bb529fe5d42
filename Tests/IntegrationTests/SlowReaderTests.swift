import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Downloads stream with backpressure: clients that stop reading a large result cost the server a
/// few chunks each, not the file. The real binary serves a 48 MiB result to 20 stalled readers while
/// its resident memory is sampled.
@Suite("Stalled readers of a large result", .serialized)
struct SlowReaderTests {
    static let readers = 20
    static let largeSize = 48 * 1024 * 1024
    /// What 20 stalled readers may add to the server's idle RSS: a quarter of the 960 MB that holding
    /// the files would cost. Measured on a debug build: +10 to +175 MB. While a connection starts, the
    /// kernel takes a few MB before the socket stops being writable, and glibc keeps what was
    /// allocated meanwhile, so the figure varies from run to run; it does not grow with the file
    /// (192 MiB files: +30 to +45 MB).
    static let allowedGrowthMB = Double(readers * largeSize) / 4 / 1024 / 1024

    /// 48 MiB: one random MiB, repeated.
    static let largeFile: Data = {
        let block = Data((0..<(1024 * 1024)).map { _ in UInt8.random(in: 0...255) })
        var data = Data(capacity: largeSize)
        for _ in 0..<(largeSize / block.count) { data.append(block) }
        return data
    }()

    @Test func stalledReadersOfLocalFilesKeepMemoryBounded() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(environment: ServerLifecycleTests.environment(data))
        defer { server.stop() }
        let key = try #require(server.printed(after: "Test key (shown once): "), "no test key printed:\n\(server.log)")
        try await withHTTP { http in
            let (id, job) = try await Self.completedJob(http, server: server, key: key)
            try Self.largeFile.write(to: data.url.appendingPathComponent("videos/\(id).mp4"))
            let videoURL = try #require(job["video_url"] as? String)
            let signed = try #require(URLComponents(string: videoURL))
            let signedPath = signed.percentEncodedPath + "?" + (signed.percentEncodedQuery ?? "")
            try await Self.expectBoundedMemory(http, server: server, label: "local /files", path: signedPath, headers: [:])
            try await Self.expectBoundedMemory(
                http, server: server, label: "local /content", path: "/v1/video/\(id)/content", headers: ["Authorization": "Bearer \(key)"])
        }
    }

    @Test(.enabled(if: ReplicaServices.s3Endpoint != nil, "needs scripts/with-services (moto)"))
    func stalledReadersOfS3ObjectsKeepMemoryBounded() async throws {
        let endpoint = try #require(ReplicaServices.s3Endpoint)
        let data = DataDirectory()
        defer { data.remove() }
        try await withHTTP { http in
            let bucket = try await ReplicaTests.makeBucket(http)
            let server = try await ServerProcess(
                environment: ServerLifecycleTests.environment(data, [
                    "VIDEOGATE_STORAGE_URL": "s3://\(bucket)/results", "VIDEOGATE_S3_ENDPOINT": endpoint, "VIDEOGATE_S3_PATH_STYLE": "true",
                    "AWS_ACCESS_KEY_ID": "stream-test", "AWS_SECRET_ACCESS_KEY": "stream-test-secret", "AWS_REGION": "us-east-1",
                ]))
            defer { server.stop() }
            let key = try #require(server.printed(after: "Test key (shown once): "), "no test key printed:\n\(server.log)")
            let (id, _) = try await Self.completedJob(http, server: server, key: key)
            var upload = HTTPClientRequest(url: "\(endpoint)/\(bucket)/results/\(id).mp4")
            upload.method = .PUT
            upload.headers.add(name: "Content-Type", value: "video/mp4")
            // moto refuses anonymous overwrites and does not check signatures: name the server's access key.
            upload.headers.add(
                name: "Authorization",
                value: "AWS4-HMAC-SHA256 Credential=stream-test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
            upload.headers.add(name: "x-amz-content-sha256", value: "UNSIGNED-PAYLOAD")
            upload.headers.add(name: "x-amz-date", value: "20260101T000000Z")
            upload.body = .bytes(ByteBuffer(bytes: Self.largeFile))
            let uploaded = try await http.client.execute(upload, timeout: .seconds(120))
            let answer = try await uploaded.body.collect(upTo: 1024 * 1024)
            try #require(uploaded.status == .ok, "uploading the large object: \(uploaded.status) \(String(buffer: answer))")
            try await Self.expectBoundedMemory(
                http, server: server, label: "S3 /content", path: "/v1/video/\(id)/content", headers: ["Authorization": "Bearer \(key)"])
        }
    }

    /// Submits a sandbox job and waits until it completed.
    static func completedJob(_ http: TestHTTP, server: ServerProcess, key: String) async throws -> (id: String, job: [String: Any]) {
        let submitted = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"large result","model":"sora-2"}"#)
        let id = try #require(submitted.json["request_id"] as? String, "\(submitted.status) \(submitted.text)")
        let job = try await http.waitForFinal(server.baseURL, id: id, key: key)
        try #require(job["status"] as? String == "completed", "\(job)\n\(server.logTail)")
        return (id, job)
    }

    /// Downloads `path` once in full (warming the server up), then opens `readers` connections that
    /// read 16 KiB of it and stall; the server's RSS while they stall stays within `allowedGrowthMB`
    /// of its idle RSS, and a further client is still served.
    static func expectBoundedMemory(_ http: TestHTTP, server: ServerProcess, label: String, path: String, headers: [String: String]) async throws {
        var warmUp = HTTPClientRequest(url: server.baseURL + path)
        for (name, value) in headers { warmUp.headers.add(name: name, value: value) }
        let response = try await http.client.execute(warmUp, timeout: .seconds(120))
        var received = 0
        for try await chunk in response.body { received += chunk.readableBytes }
        try #require(response.status == .ok && received == largeSize, "\(label): warm-up download \(response.status), \(received) bytes")

        let idle = try await ResidentMemory.peakMegabytes(of: server.pid, over: .milliseconds(500))
        var stalled: [StalledReader] = []
        for _ in 0..<readers { stalled.append(try StalledReader(port: server.port, path: path, headers: headers)) }
        #expect(stalled.allSatisfy { $0.status == 200 }, "\(label): statuses \(stalled.map(\.status))")
        let peak = try await ResidentMemory.peakMegabytes(of: server.pid, over: .seconds(3))

        // Another client is served while the others stall.
        var probe = HTTPClientRequest(url: server.baseURL + path)
        for (name, value) in headers { probe.headers.add(name: name, value: value) }
        probe.headers.add(name: "Range", value: "bytes=0-99")
        let partial = try await http.client.execute(probe, timeout: .seconds(30))
        let partialBody = try await partial.body.collect(upTo: 1024)
        #expect(partial.status == .partialContent && partialBody.readableBytes == 100, "\(label): \(partial.status)")
        stalled.removeAll()

        print(
            "stalled-readers \(label): idle \(String(format: "%.1f", idle)) MB, with \(readers) stalled readers of "
                + "\(largeSize / 1024 / 1024) MiB \(String(format: "%.1f", peak)) MB (+\(String(format: "%.1f", peak - idle)) MB)")
        #expect(peak - idle < allowedGrowthMB, "\(label): RSS \(idle) MB idle, \(peak) MB with \(readers) stalled readers")
    }
}
