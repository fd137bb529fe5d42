import Foundation
import NIOPosix

/// Result storage on local disk under one root directory. Writes go to a temporary file in the
/// destination's directory and are renamed into place, so a reader never sees a partial file.
/// The content type follows the key's extension; the ETag is derived from size, modification
/// time and inode, so it changes whenever the file is replaced. File system calls run on NIO's
/// thread pool, never on the Swift concurrency pool.
public struct LocalBlobStore: BlobStore {
    public let root: URL

    /// A key that would leave the root or is not a plain relative path.
    public struct InvalidKey: Error, CustomStringConvertible {
        public let key: String
        public var description: String { "invalid storage key '\(key)'" }
    }

    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
    }

    func fileURL(_ key: String) throws -> URL {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, !key.hasPrefix("/"), !key.contains("\\"), !key.contains("\0"),
            parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
        else { throw InvalidKey(key: key) }
        return root.appendingPathComponent(key)
    }

    public func put(key: String, from file: URL, contentType: String) async throws {
        let destination = try fileURL(key)
        try await Self.blocking {
            try Self.replace(destination) { temporary in try FileManager.default.copyItem(at: file, to: temporary) }
        }
    }

    public func put(key: String, data: Data, contentType: String) async throws {
        let destination = try fileURL(key)
        try await Self.blocking {
            try Self.replace(destination) { temporary in try data.write(to: temporary) }
        }
    }

    public func head(key: String) async throws -> BlobInfo? {
        let path = try fileURL(key).path
        return try await Self.blocking {
            var status = stat()
            guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
            let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
            let etag =
                "\"\(String(status.st_size, radix: 16))-\(String(status.st_mtim.tv_sec, radix: 16))\(String(status.st_mtim.tv_nsec, radix: 16))-\(String(status.st_ino, radix: 16))\""
            return BlobInfo(
                size: Int64(status.st_size), contentType: Self.contentType(key), etag: etag, modifiedAt: Date(timeIntervalSince1970: modified))
        }
    }

    /// The file, opened now: its descriptor lives as long as the returned chunks, so a file deleted
    /// (unlinked) after the open is still read whole.
    public func open(key: String, range: ClosedRange<Int64>?) async throws -> BlobChunks? {
        BlobChunks(try await FileChunks.open(path: try fileURL(key).path, range: range, chunkSize: Self.readChunkSize))
    }

    /// Reads one chunk per pull, with `pread` on NIO's thread pool and nothing read ahead: a
    /// consumer that waits for a slow client holds one chunk of the file.
    public func read<Result>(key: String, range: ClosedRange<Int64>?, _ body: (BlobChunks) async throws -> Result) async throws -> Result {
        let chunks = try await FileChunks.open(path: try fileURL(key).path, range: range, chunkSize: Self.readChunkSize)
        return try await body(BlobChunks(chunks))
    }

    public func delete(key: String) async throws {
        let url = try fileURL(key)
        try await Self.blocking {
            do {
                try FileManager.default.removeItem(at: url)
            } catch let error as CocoaError where error.code == .fileNoSuchFile {
                return
            }
        }
    }

    public func ping() async throws {
        let root = self.root
        try await Self.blocking {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue,
                FileManager.default.isWritableFile(atPath: root.path)
            else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: root.path])
            }
        }
    }

    public func directURL(key: String, expires: Date) async throws -> URL? { nil }

    static func contentType(_ key: String) -> String {
        switch key.split(separator: ".").last?.lowercased() {
        case "mp4": "video/mp4"
        case "jpg", "jpeg": "image/jpeg"
        case "png": "image/png"
        case "webp": "image/webp"
        default: "application/octet-stream"
        }
    }

    static let readChunkSize = 64 * 1024

    /// Runs blocking file system calls on NIO's thread pool, off the Swift concurrency pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    /// Writes a temporary file beside `destination` with `write` and renames it into place, so a
    /// reader sees the old file or the new one, never a partial one. Blocking: run it in `blocking`.
    private static func replace(_ destination: URL, write: (URL) throws -> Void) throws {
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        do {
            try write(temporary)
            guard Foundation.rename(temporary.path, destination.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination.path])
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }
}
