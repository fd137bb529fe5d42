import Foundation

/// Result storage on local disk under one root directory. Writes go to a temporary file in the
/// destination's directory and are renamed into place, so a reader never sees a partial file.
/// The content type follows the key's extension; the ETag is derived from size, modification
/// time and inode, so it changes whenever the file is replaced.
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
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        do {
            try FileManager.default.copyItem(at: file, to: temporary)
            try Self.rename(temporary, to: destination)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    public func put(key: String, data: Data, contentType: String) async throws {
        let destination = try fileURL(key)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        do {
            try data.write(to: temporary)
            try Self.rename(temporary, to: destination)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    public func head(key: String) async throws -> BlobInfo? {
        let url = try fileURL(key)
        var status = stat()
        guard stat(url.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
        let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
        let etag = "\"\(String(status.st_size, radix: 16))-\(String(status.st_mtim.tv_sec, radix: 16))\(String(status.st_mtim.tv_nsec, radix: 16))-\(String(status.st_ino, radix: 16))\""
        return BlobInfo(
            size: Int64(status.st_size), contentType: Self.contentType(key), etag: etag, modifiedAt: Date(timeIntervalSince1970: modified))
    }

    public func read(key: String, range: ClosedRange<Int64>?) async throws -> AsyncThrowingStream<Data, any Error> {
        let handle = try FileHandle(forReadingFrom: try fileURL(key))
        let start = range?.lowerBound ?? 0
        let end = range?.upperBound
        return AsyncThrowingStream { continuation in
            let task = Task {
                defer { try? handle.close() }
                do {
                    try handle.seek(toOffset: UInt64(start))
                    var position = start
                    while !Task.isCancelled {
                        var want = 64 * 1024
                        if let end { want = Int(min(Int64(want), end - position + 1)) }
                        guard want > 0, let chunk = try handle.read(upToCount: want), !chunk.isEmpty else { break }
                        position += Int64(chunk.count)
                        continuation.yield(chunk)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func delete(key: String) async throws {
        let url = try fileURL(key)
        do {
            try FileManager.default.removeItem(at: url)
        } catch CocoaError.fileNoSuchFile {
            return
        } catch let error as CocoaError where error.code == .fileNoSuchFile {
            return
        }
    }

    public func ping() async throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue,
            FileManager.default.isWritableFile(atPath: root.path)
        else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: root.path])
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

    private static func rename(_ source: URL, to destination: URL) throws {
        guard Foundation.rename(source.path, destination.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination.path])
        }
    }
}
