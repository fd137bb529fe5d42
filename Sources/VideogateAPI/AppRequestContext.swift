import Hummingbird
import Logging
import VideogateDomain

/// The request context of every route: Hummingbird's core storage plus our request id.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The server's id for this HTTP call (`X-Request-Id`, and `request_id` in the logs).
    public var requestID: String

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.requestID = Identifier.make("http")
    }
}
