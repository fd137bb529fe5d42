import Foundation
import NIOCore
import NIOPosix

/// `length` bytes of a file from `offset`, read one chunk per `next()`: nothing is read ahead, so a
/// consumer that waits (a response writer blocked on a slow client, a request body on a slow
/// upload) holds one chunk, whatever the file's size. Opening and reading run on NIO's thread
/// pool, off the Swift concurrency pool.
///
/// Made with `init(path:offset:length:)` every iteration opens the file anew (a retried upload
/// starts over); made with `open(path:range:)` the file is opened once, up front, and closed when
/// the last copy of the sequence and its iterators are gone.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int64
    let length: Int64
    var chunkSize = 256 * 1024
    private var opened: Descriptor?

    init(path: String, offset: Int64, length: Int64, chunkSize: Int = 256 * 1024) {
        self.path = path
        self.offset = offset
        self.length = length
        self.chunkSize = chunkSize
    }

    /// Opens `path` now (so a missing file throws here) and reads `range`, or the whole file.
    static func open(path: String, range: ClosedRange<Int64>?, chunkSize: Int) async throws -> FileChunks {
        let (descriptor, size) = try await NIOThreadPool.singleton.runIfActive {
            let descriptor = try Descriptor(path: path)
            var status = stat()
            guard fstat(descriptor.fd, &status) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            return (descriptor, Int64(status.st_size))
        }
        let start = range?.lowerBound ?? 0
        let end = range.map { Swift.min($0.upperBound, size - 1) } ?? size - 1
        var chunks = FileChunks(path: path, offset: start, length: Swift.max(0, end - start + 1), chunkSize: chunkSize)
        chunks.opened = descriptor
        return chunks
    }

    /// The file ended before `length` bytes were read (it shrank while being read).
    struct ShortRead: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) ended before the expected number of bytes was read" }
    }

    func makeAsyncIterator() -> Iterator { Iterator(source: self, descriptor: opened) }

    struct Iterator: AsyncIteratorProtocol {
        let source: FileChunks
        var descriptor: Descriptor?
        var position: Int64 = 0

        init(source: FileChunks, descriptor: Descriptor?) {
            self.source = source
            self.descriptor = descriptor
        }

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

    /// An open file descriptor, closed when the last sequence or iterator using it goes away.
    final class Descriptor: Sendable {
        let fd: Int32
        init(path: String) throws {
            fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ENOENT) }
        }
        deinit { close(fd) }
    }
}
