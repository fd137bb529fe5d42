import Foundation
import NIOCore
import Testing
@testable import VideogateStorage

@Suite("Local blob store, signed URLs, byte ranges")
struct BlobStoreTests {
    static func store() throws -> LocalBlobStore {
        try LocalBlobStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("videogate-blobs-\(UUID().uuidString)"))
    }

    static func read(_ store: LocalBlobStore, _ key: String, _ range: ClosedRange<Int64>? = nil) async throws -> Data {
        try await store.read(key: key, range: range) { try await $0.collect(upTo: 64 * 1024 * 1024) }
    }

    @Test func putHeadReadDelete() async throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let bytes = Data((0..<200_000).map { UInt8($0 % 251) })
        try await store.put(key: "req_1.mp4", data: bytes, contentType: "video/mp4")
        let info = try #require(try await store.head(key: "req_1.mp4"))
        #expect(info.size == 200_000 && info.contentType == "video/mp4" && info.etag.hasPrefix("\""))
        #expect(try await Self.read(store, "req_1.mp4") == bytes)
        #expect(try await Self.read(store, "req_1.mp4", 100...199) == bytes[100...199])
        #expect(try await Self.read(store, "req_1.mp4", 65_000...140_000) == bytes[65_000...140_000])
        try await store.put(key: "req_1.mp4", data: Data("other".utf8), contentType: "video/mp4")
        #expect(try await store.head(key: "req_1.mp4")?.etag != info.etag)
        try await store.delete(key: "req_1.mp4")
        try await store.delete(key: "req_1.mp4")
        #expect(try await store.head(key: "req_1.mp4") == nil)
        #expect(try await store.directURL(key: "x", expires: Date()) == nil)
        try await store.ping()
    }

    /// Nothing is read ahead: a chunk is read from disk when it is pulled, so bytes changed on disk
    /// after the first chunk was taken show up in the second one.
    @Test func readPullsEachChunkFromDiskWhenAsked() async throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let size = 3 * LocalBlobStore.readChunkSize
        try await store.put(key: "req_2.mp4", data: Data(repeating: 1, count: size), contentType: "video/mp4")
        let path = store.root.appendingPathComponent("req_2.mp4").path
        let seen: [UInt8] = try await store.read(key: "req_2.mp4", range: nil) { chunks in
            var iterator = chunks.makeAsyncIterator()
            let first = try #require(try await iterator.next())
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            try handle.seek(toOffset: UInt64(LocalBlobStore.readChunkSize))
            try handle.write(contentsOf: Data(repeating: 2, count: 2 * LocalBlobStore.readChunkSize))
            try handle.close()
            var seen = [first.getInteger(at: first.readerIndex, as: UInt8.self) ?? 0]
            while let chunk = try await iterator.next() { seen.append(chunk.getInteger(at: chunk.readerIndex, as: UInt8.self) ?? 0) }
            return seen
        }
        #expect(seen == [1, 2, 2])
    }

    /// A file that shrinks while it is read ends the read with an error, not with a short body.
    @Test func anOpenedObjectIsReadWholeAfterADeleteAndAMissingOneDoesNotOpen() async throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let bytes = Data((0..<300_000).map { UInt8($0 % 249) })
        try await store.put(key: "req_2.mp4", data: bytes, contentType: "video/mp4")
        let whole = try #require(try await store.open(key: "req_2.mp4", range: nil))
        let part = try #require(try await store.open(key: "req_2.mp4", range: 70_000...70_099))
        // Deleted (unlinked) after the open, as a DELETE racing a download would: the reads still get every byte.
        try await store.delete(key: "req_2.mp4")
        #expect(try await store.head(key: "req_2.mp4") == nil)
        #expect(try await whole.collect(upTo: 1 << 20) == bytes)
        #expect(try await part.collect(upTo: 1 << 20) == bytes[70_000...70_099])
        await #expect(throws: (any Error).self) { _ = try await store.open(key: "req_2.mp4", range: nil) }
    }

    @Test func aFileThatShrinksWhileReadIsAnError() async throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(at: store.root) }
        try await store.put(key: "req_3.mp4", data: Data(repeating: 1, count: 3 * LocalBlobStore.readChunkSize), contentType: "video/mp4")
        let path = store.root.appendingPathComponent("req_3.mp4").path
        await #expect(throws: FileChunks.ShortRead.self) {
            try await store.read(key: "req_3.mp4", range: nil) { chunks in
                for try await _ in chunks { #expect(truncate(path, off_t(LocalBlobStore.readChunkSize)) == 0) }
            }
        }
    }

    @Test func putFromAFileAndContentTypes() async throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let source = store.root.appendingPathComponent("source.bin")
        try Data("jpeg".utf8).write(to: source)
        try await store.put(key: "inputs/req_2.jpg", from: source, contentType: "image/jpeg")
        #expect(try await store.head(key: "inputs/req_2.jpg")?.contentType == "image/jpeg")
        #expect(FileManager.default.fileExists(atPath: source.path))
        #expect(LocalBlobStore.contentType("a.webp") == "image/webp" && LocalBlobStore.contentType("a.bin") == "application/octet-stream")
    }

    @Test(arguments: ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", "./a"])
    func keysThatLeaveTheRootAreRefused(key: String) async throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(at: store.root) }
        await #expect(throws: LocalBlobStore.InvalidKey.self) { try await store.put(key: key, data: Data(), contentType: "x") }
    }

    @Test func concurrentPutsLeaveOneCompleteFile() async throws {
        let store = try Self.store()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let versions = (0..<8).map { Data(repeating: UInt8($0), count: 300_000) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for version in versions { group.addTask { try await store.put(key: "req_3.mp4", data: version, contentType: "video/mp4") } }
            try await group.waitForAll()
        }
        let final = try await Self.read(store, "req_3.mp4")
        #expect(versions.contains(final))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.root.path).filter { $0.hasPrefix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func pingFailsWhenTheRootIsGone() async throws {
        let store = try Self.store()
        try FileManager.default.removeItem(at: store.root)
        await #expect(throws: (any Error).self) { try await store.ping() }
    }

    @Test func signedURLs() throws {
        let signer = URLSigner(secret: "s3cret")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let url = signer.url(base: "https://v.example", fileID: "req_4.mp4", expires: now.addingTimeInterval(60))
        let components = try #require(URLComponents(string: url))
        #expect(components.path == "/files/req_4.mp4")
        let expires = components.queryItems?.first { $0.name == "expires" }?.value
        let signature = components.queryItems?.first { $0.name == "signature" }?.value
        #expect(signer.verify(fileID: "req_4.mp4", expires: expires, signature: signature, now: now) == .valid)
        #expect(signer.verify(fileID: "req_5.mp4", expires: expires, signature: signature, now: now) == .invalid)
        #expect(signer.verify(fileID: "req_4.mp4", expires: "1900000000", signature: signature, now: now) == .invalid)
        #expect(signer.verify(fileID: "req_4.mp4", expires: expires, signature: (signature ?? "") + "x", now: now) == .invalid)
        #expect(signer.verify(fileID: "req_4.mp4", expires: nil, signature: signature, now: now) == .invalid)
        #expect(signer.verify(fileID: "req_4.mp4", expires: expires, signature: nil, now: now) == .invalid)
        #expect(signer.verify(fileID: "req_4.mp4", expires: expires, signature: signature, now: now.addingTimeInterval(61)) == .expired)
        #expect(URLSigner(secret: "other").verify(fileID: "req_4.mp4", expires: expires, signature: signature, now: now) == .invalid)
    }

    @Test(arguments: [
        (nil as String?, 1000 as Int64, ByteRangeRequest.full),
        ("bytes=0-99", 1000, .partial(0...99)),
        ("bytes=900-", 1000, .partial(900...999)),
        ("bytes=-100", 1000, .partial(900...999)),
        ("bytes=-5000", 1000, .partial(0...999)),
        ("bytes=500-5000", 1000, .partial(500...999)),
        ("bytes=1000-", 1000, .unsatisfiable),
        ("bytes=-0", 1000, .unsatisfiable),
        ("bytes=0-0", 0, .unsatisfiable),
        ("bytes=5-1", 1000, .full),
        ("bytes=0-1,5-6", 1000, .full),
        ("items=0-1", 1000, .full),
        ("bytes=abc", 1000, .full),
    ])
    func rangeHeaders(header: String?, size: Int64, expected: ByteRangeRequest) {
        #expect(ByteRangeRequest.parse(header, size: size) == expected)
    }
}
