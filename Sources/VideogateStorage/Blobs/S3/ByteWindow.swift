import NIOCore

/// `length` bytes of a byte stream after its first `skip` bytes, pulled from `base` as they are asked
/// for; what follows the window is never read.
struct ByteWindow<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let skip: Int64
    let length: Int64

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), skip: skip, left: length) }

    struct Iterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var skip: Int64
        var left: Int64

        mutating func next() async throws -> ByteBuffer? {
            while left > 0, var buffer = try await base.next() {
                if skip > 0 {
                    let dropped = Int(Swift.min(skip, Int64(buffer.readableBytes)))
                    buffer.moveReaderIndex(forwardBy: dropped)
                    skip -= Int64(dropped)
                }
                let take = Int(Swift.min(left, Int64(buffer.readableBytes)))
                guard take > 0, let slice = buffer.readSlice(length: take) else { continue }
                left -= Int64(take)
                return slice
            }
            return nil
        }
    }
}
