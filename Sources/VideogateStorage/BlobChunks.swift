import Foundation
import NIOCore

/// The bytes of a stored object as a pull-based sequence: a chunk is read from disk or from the
/// network only when the consumer asks for the next one, so a consumer that waits (a response
/// writer blocked on a slow client) keeps the producer waiting too, and memory stays bounded by a
/// few chunks per reader whatever the object's size.
public struct BlobChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    private let makeNext: @Sendable () -> Iterator

    /// Passes on the chunks of `base` as they are pulled.
    public init<Base: AsyncSequence & Sendable>(_ base: Base) where Base.Element == ByteBuffer {
        makeNext = {
            var iterator = base.makeAsyncIterator()
            return Iterator { try await iterator.next() }
        }
    }

    public func makeAsyncIterator() -> Iterator { makeNext() }

    /// Pulls the next chunk of the underlying sequence on every `next()`.
    public struct Iterator: AsyncIteratorProtocol {
        private let pull: () async throws -> ByteBuffer?
        fileprivate init(_ pull: @escaping () async throws -> ByteBuffer?) { self.pull = pull }

        /// The next chunk, or nil after the last one.
        public mutating func next() async throws -> ByteBuffer? { try await pull() }
    }
}

extension BlobChunks {
    /// More bytes than `collect(upTo:)` accepts.
    public struct TooLarge: Error, CustomStringConvertible {
        public let maxBytes: Int
        public var description: String { "the stored object is larger than \(maxBytes) bytes" }
    }

    /// All chunks in one `Data`, for small objects such as start images.
    /// - Throws: `TooLarge` as soon as more than `maxBytes` arrived; whatever reading throws.
    public func collect(upTo maxBytes: Int) async throws -> Data {
        var data = Data()
        for try await chunk in self {
            guard data.count + chunk.readableBytes <= maxBytes else { throw TooLarge(maxBytes: maxBytes) }
            data.append(contentsOf: chunk.readableBytesView)
        }
        return data
    }
}
