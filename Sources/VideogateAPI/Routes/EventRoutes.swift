import Foundation
import Hummingbird
import ServiceLifecycle
import VideogateDomain

/// `GET /v1/video/{id}/events`: the live status stream of one job (Server-Sent Events).
struct EventRoutes: Sendable {
    let services: GatewayServices

    /// Not a poll: neither the poll throttle nor the daily limit applies. At most
    /// `JobEventHub.maxStreamsPerKey` open per key in this process (429 `too_many_streams`).
    func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.withRateLimitHeaders(request, jobID: context.parameters.get("id")) { principal, _ in
            let job = try services.ownedJob(principal)
            guard let watch = services.events.watch(jobID: job.id, keyID: principal.key.id) else {
                throw GatewayError(
                    .tooManyStreams, "This key has \(JobEventHub.maxStreamsPerKey) event streams open; close one first.", retryAfter: 5)
            }
            let stream = JobEventStream(
                services: services, watch: watch, accountID: principal.account.id, environment: principal.key.environment,
                keepAlive: .milliseconds(Int64(services.configuration.eventKeepAlive * 1000)), fallback: services.events.feed.fallbackInterval)
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            // Proxies that buffer responses (nginx) pass this one through as it is written.
            headers[.accelBuffering] = "no"
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    defer { watch.close() }
                    try await withGracefulShutdownHandler {
                        try await stream.run(first: job, writer: &writer)
                    } onGracefulShutdown: {
                        watch.wakeup.signal(.shutdown)
                    }
                    try await writer.finish(nil)
                })
        }
    }
}
