import Hummingbird
import NIOCore
import Synchronization
import Logging
import VideogateDomain

/// The request context of every route: Hummingbird's core storage plus our request id.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The server's id for this HTTP call (`X-Request-Id`, and `request_id` in the logs).
    public var requestID: String
    /// The event loop of the request's connection (downloads pace their writes through it).
    public let eventLoop: any EventLoop

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.requestID = RequestIDs.next()
        self.eventLoop = source.channel.eventLoop
    }
}

/// HTTP request ids: a random per-process prefix and a counter, cheap enough for every request
/// (a ULID would cost two getrandom calls). Unique across processes in practice, sortable within one.
enum RequestIDs {
    private static let prefix = "http_" + Identifier.randomBase62(10) + "_"
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        let value = counter.add(1, ordering: .relaxed).newValue
        return prefix + String(value, radix: 36)
    }
}
