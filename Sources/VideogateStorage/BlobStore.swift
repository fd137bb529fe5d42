import Foundation
import NIOCore

/// Where result files live (local disk now, an S3-compatible bucket later).
/// Keys are relative paths such as `videos/req_01J....mp4`.
public protocol BlobStore: Sendable {
    /// Moves or copies a finished local file into storage under `key`, replacing what was there.
    func put(key: String, from file: URL, contentType: String) async throws
    /// Stores bytes under `key`, replacing what was there.
    func put(key: String, data: Data, contentType: String) async throws
    /// Size and content type of a stored object, or nil when absent.
    func head(key: String) async throws -> BlobInfo?
    /// Reads `range` (whole object when nil) and hands `body` its bytes, in order, as a pull-based
    /// sequence: the next chunk is read only when `body` asks for it, so a consumer that waits for a
    /// slow client keeps memory at a few chunks. The file or connection is released when `body` returns.
    /// - Throws: before calling `body` when the object is absent or cannot be opened; while `body`
    ///   iterates when reading fails; and whatever `body` throws.
    func read<Result>(key: String, range: ClosedRange<Int64>?, _ body: (BlobChunks) async throws -> Result) async throws -> Result
    /// Opens `range` (whole object when nil) now and returns its chunks, read as they are pulled,
    /// holding what it opened until the sequence is gone: a delete after the open does not cut the
    /// read short. Nil when this store cannot open ahead of reading (then use `read`).
    /// - Throws: when the object is absent or cannot be opened.
    func open(key: String, range: ClosedRange<Int64>?) async throws -> BlobChunks?
    /// Deletes an object; deleting an absent one is not an error.
    func delete(key: String) async throws
    /// Throws when the storage cannot be reached (readiness).
    func ping() async throws
    /// A direct URL the client can fetch without our auth header, valid until `expires`, when the
    /// store can make one (presigned object-store URLs); nil means "use our signed /files URL".
    func directURL(key: String, expires: Date) async throws -> URL?
}

/// What `head` reports.
public struct BlobInfo: Sendable, Equatable {
    public var size: Int64
    public var contentType: String
    /// A strong validator for `ETag`.
    public var etag: String
    public var modifiedAt: Date
    public init(size: Int64, contentType: String, etag: String, modifiedAt: Date) {
        self.size = size
        self.contentType = contentType
        self.etag = etag
        self.modifiedAt = modifiedAt
    }
}

extension BlobStore {
    /// Opening ahead is not offered: `read` serves the object.
    public func open(key: String, range: ClosedRange<Int64>?) async throws -> BlobChunks? { nil }
}
