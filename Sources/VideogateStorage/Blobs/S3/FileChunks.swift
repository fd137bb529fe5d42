import Foundation
import NIOCore

/// `length` bytes of a file from `offset`, read in chunks as a request body streams, so a large
/// upload never sits in memory. Each iteration opens the file anew (a retried request starts over).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int64
    let length: Int64
    var chunkSize = 256 * 1024

    /// The file ended before `length` bytes were read (it shrank during the upload).
    struct ShortRead: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) ended before the expected number of bytes was read" }
    }

    func makeAsyncIterator() -> Iterator { Iterator(source: self) }

    struct Iterator: AsyncIteratorProtocol {
        let source: FileChunks
        var descriptor: Descriptor?
        var position: Int64 = 0

        init(source: FileChunks) { self.source = source }

        mutating func next() async throws -> ByteBuffer? {
            let remaining = source.length - position
            guard remaining > 0 else { return nil }
            if descriptor == nil { descriptor = try Descriptor(path: source.path) }
            let want = Int(Swift.min(Int64(source.chunkSize), remaining))
            var buffer = ByteBufferAllocator().buffer(capacity: want)
            let offset = source.offset + position
            let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { pointer in
                let read = pread(descriptor!.fd, pointer.baseAddress, want, off_t(offset))
                if read < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                return read
            }
            guard count > 0 else { throw ShortRead(path: source.path) }
            position += Int64(count)
            return buffer
        }
    }

    /// An open file descriptor, closed when the last iterator using it goes away.
    final class Descriptor {
        let fd: Int32
        init(path: String) throws {
            fd = open(path, O_RDONLY)
            if fd < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ENOENT) }
        }
        deinit { close(fd) }
    }
}
