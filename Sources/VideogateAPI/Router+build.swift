import Hummingbird
import VideogateDomain

/// Which routes a process serves.
public enum RouteSet: Sendable {
    /// The public API, the admin API, result files and operations routes.
    case api
    /// Only `/healthz`, `/readyz`, `/metrics` (a `--role worker` process).
    case operationsOnly
}

/// Builds the router: the one place that lists every route. Middleware order, outermost first:
/// request id → metrics → errors, so that every answer, errors included, is counted and carries `X-Request-Id`.
/// Returns the router and its route table (the table is what `/openapi.json` documents).
public func buildRouter(
    services: GatewayServices, operations: OperationsHooks, routes set: RouteSet = .api
) -> (router: Router<AppRequestContext>, routes: RouteTable) {
    let video = VideoRoutes(services: services)
    let videos = OpenAIVideoRoutes(services: services)
    let content = ContentRoutes(services: services)
    let cancel = CancelRoutes(services: services)
    let account = AccountRoutes(services: services)
    let admin = AdminRoutes(services: services)
    let usage = UsageRoutes(services: services)
    let events = EventRoutes(services: services)
    let quote = QuoteRoutes(services: services)
    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response
    var list: [(HTTPRequest.Method, String, Handler)] = []
    if set == .api {
        list += [
            (.post, "/v1/video", video.submit),
            (.post, "/v1/video/quote", quote.quote),
            (.get, "/v1/video", video.list),
            (.get, "/v1/video/:id", video.poll),
            (.get, "/v1/video/:id/content", content.content),
            (.post, "/v1/video/:id/cancel", cancel.cancel),
            (.get, "/v1/video/:id/events", events.events),
            (.post, "/v1/videos", videos.create),
            (.get, "/v1/videos", videos.list),
            (.get, "/v1/videos/:id", videos.retrieve),
            (.delete, "/v1/videos/:id", videos.delete),
            (.get, "/v1/videos/:id/content", videos.content),
            (.post, "/v1/videos/:id/cancel", cancel.cancelVideo),
            (.get, "/v1/models", account.models),
            (.get, "/v1/account", account.account),
            (.get, "/v1/usage", usage.usage),
            (.get, "/files/:file_id", content.signedFile),
            (.post, "/admin/accounts", admin.createAccount),
            (.get, "/admin/accounts/:id", admin.getAccount),
            (.patch, "/admin/accounts/:id", admin.updateAccount),
            (.post, "/admin/accounts/:id/keys", admin.createKey),
            (.delete, "/admin/keys/:key_id", admin.revokeKey),
            (.patch, "/admin/keys/:key_id", admin.updateKey),
            (.post, "/admin/accounts/:id/credits", admin.addCredits),
            (.get, "/admin/accounts/:id/ledger", admin.ledger),
            (.post, "/admin/accounts/:id/webhook-secret", admin.rotateWebhookSecret),
            (.get, "/admin/jobs", admin.jobs),
            (.get, "/admin/providers", admin.providers),
            (.get, "/admin/jobs/:id/webhooks", admin.webhooks),
            (.get, "/admin/usage", usage.adminUsage),
        ]
    }
    var table = RouteTable()
    for (method, path, _) in list { table.add(method, path) }
    // Provider-facing, not part of our API: left out of the table (so of `/openapi.json`), and
    // any other method or path under it answers 404, not 405, saying nothing about it.
    if set == .api {
        list.append((.post, "/callbacks/:provider/:token", CallbackRoutes(services: services).callback))
        // The operator console: HTML for browsers, not part of the JSON API (nor of `/openapi.json`).
        let console = ConsoleRoutes(services: services)
        list += [
            (.get, "/console", console.home),
            (.get, "/console/sign-in", console.signInPage),
            (.post, "/console/sign-in", console.signIn),
            (.post, "/console/sign-out", console.signOut),
            (.get, "/console/static/console.css", console.stylesheet),
            (.get, "/console/accounts", console.accounts),
            (.post, "/console/accounts", console.createAccount),
            (.get, "/console/accounts/:id", console.account),
            (.post, "/console/accounts/:id/plan", console.updateAccount),
            (.post, "/console/accounts/:id/credits", console.addCredits),
            (.post, "/console/accounts/:id/keys", console.createKey),
            (.post, "/console/accounts/:id/keys/revoke", console.revokeKey),
            (.post, "/console/accounts/:id/keys/spend-limit", console.setSpendLimit),
            (.post, "/console/accounts/:id/webhook-secret", console.rotateWebhookSecret),
            (.get, "/console/jobs", console.jobs),
            (.get, "/console/jobs/:id", console.job),
            (.post, "/console/jobs/:id/webhooks/redeliver", console.redeliverWebhook),
            (.get, "/console/providers", console.providers),
            (.get, "/console/usage", console.usage),
            (.get, "/playground", console.playground),
            (.get, "/playground/playground.js", console.playgroundScript),
        ]
    }
    for (method, path) in [(HTTPRequest.Method.get, "/healthz"), (.get, "/readyz"), (.get, "/metrics"), (.get, "/openapi.json")] {
        table.add(method, path)
    }
    let document = OpenAPIDocument.json(catalog: services.catalog)
    let readiness = ReadinessProbe(database: { try await services.store.ping() }, storage: { try await services.blobs.ping() })
    let ops = OperationsRoutes(services: services, operations: operations, readiness: readiness, openAPI: ByteBuffer(bytes: document))
    list += [
        (.get, "/healthz", ops.health),
        (.get, "/readyz", ops.ready),
        (.get, "/metrics", ops.metrics),
        (.get, "/openapi.json", ops.openAPIDocument),
    ]

    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    if services.configuration.tracing {
        // Outermost: the server span (its parent from an incoming `traceparent`) covers everything
        // else, and is current while the handler runs, so logs carry its trace id. The signed
        // file links' signatures stay out of the recorded URL.
        router.add(middleware: TracingMiddleware(redactingQueryParameters: ["signature"]))
    }
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: MetricsMiddleware(metrics: services.metrics))
    router.add(middleware: ErrorMiddleware(routes: table))
    for (method, path, handler) in list {
        router.on(RouterPath(path), method: method) { request, context in try await handler(request, context) }
    }
    return (router, table)
}

