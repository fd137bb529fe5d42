import Foundation
import Hummingbird
import Metrics
import Synchronization

/// HTTP metrics: requests by route template, method and status, and their durations.
///
/// The counter and timer of each (route, method, status) are made once and kept: making them
/// through the factory on every request costs a registry lookup under its lock, label sorting
/// and allocations. Unmatched paths share one template; at most 4,096 combinations are kept.
public struct HTTPMetrics: Sendable {
    let factory: any MetricsFactory
    private let handles = HandleCache()

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private final class HandleCache: Sendable {
        let entries = Mutex<[Key: (Counter, Metrics.Timer)]>([:])
    }

    func record(route: String, method: String, status: Int, seconds: Double) {
        let key = Key(route: route, method: method, status: status)
        let (counter, timer) = handles.entries.withLock { entries in
            if let made = entries[key] { return made }
            let made = (
                Counter(
                    label: "videogate_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))],
                    factory: factory),
                Metrics.Timer(label: "videogate_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            )
            // Odd methods could grow the set without end: past the bound, handles are made per request.
            if entries.count < 4_096 { entries[key] = made }
            return made
        }
        counter.increment()
        timer.recordNanoseconds(Int64(seconds * 1e9))
    }
}

/// Records every response (error bodies included, since it sits outside the error middleware).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.record(
            route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code, seconds: seconds)
        return response
    }
}
