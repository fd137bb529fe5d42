import Foundation
import NIOCore
import NIOPosix

/// `length` bytes of a file from `offset`, read in chunks as a request body streams, so a large
/// upload never sits in memory. Each iteration opens the file anew (a retried request starts over).
/// Opening and reading run on NIO's thread pool, off the Swift concurrency pool.
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
            let path = source.path
            let descriptor: Descriptor
            if let open = self.descriptor {
                descriptor = open
            } else {
                descriptor = try await NIOThreadPool.singleton.runIfActive { try Descriptor(path: path) }
                self.descriptor = descriptor
            }
            let want = Int(Swift.min(Int64(source.chunkSize), remaining))
            let offset = source.offset + position
            // pread blocks: it runs on NIO's thread pool, not on the Swift concurrency pool.
            let buffer = try await NIOThreadPool.singleton.runIfActive {
                var buffer = ByteBufferAllocator().buffer(capacity: want)
                _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { pointer in
                    let read = pread(descriptor.fd, pointer.baseAddress, want, off_t(offset))
                    if read < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                    return read
                }
                return buffer
            }
            guard buffer.readableBytes > 0 else { throw ShortRead(path: path) }
            position += Int64(buffer.readableBytes)
            return buffer
        }
    }

    /// An open file descriptor, closed when the last iterator using it goes away.
    final class Descriptor: Sendable {
        let fd: Int32
        init(path: String) throws {
            fd = open(path, O_RDONLY)
            if fd < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ENOENT) }
        }
        deinit { close(fd) }
    }
}
