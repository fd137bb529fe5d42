import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import VideogateAPI
import VideogateDomain
import VideogateProviders
import VideogateStorage
import VideogateWorker

/// A built videogate process: the Hummingbird application (a `Service` that also runs the
/// workers and sweeper as its services, by role) and the parts tests look at.
public struct Gateway: Sendable {
    public let application: Application<RouterResponder<AppRequestContext>>
    public let services: GatewayServices
    public let routes: RouteTable
    public let registry: PrometheusCollectorRegistry
    /// Set on the first start: the demo account and its test key.
    public let bootstrap: Bootstrap.Created?
    /// Set when the admin token was generated on this start.
    public let generatedAdminToken: String?
}

/// Builds a process from its configuration: opens and migrates the store, runs the first-start
/// bootstrap, picks providers and storage, and assembles router, workers and sweeper for the role.
/// This is the only place that wires modules together.
public func buildGateway(
    _ config: AppConfiguration, logger: Logger, clock: any WallClock = SystemWallClock(),
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    tracing: (any Service)? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> Gateway {
    try FileManager.default.createDirectory(at: config.dataDirectory, withIntermediateDirectories: true)
    let store = try openStore(config, logger: logger)
    try await store.migrate()
    let blobs = try openBlobStore(config)
    let catalog = try loadCatalog(config)
    let adminToken = try Secrets.load(configured: config.adminToken, file: "admin_token", in: config.dataDirectory)
    let signingSecret = try Secrets.load(configured: config.signingSecret, file: "signing_secret", in: config.dataDirectory)
    let created = config.role == .worker ? nil : try await Bootstrap.run(store: store, clock: clock)
    let factory = PrometheusMetricsFactory(registry: registry)
    let credentials = CredentialPool(try config.providers.credentials(), environment: config.providers.environment)
    // Shared by the worker (choosing credentials) and /metrics (the credential gauges).
    let credentialRouter = credentials.all.isEmpty ? nil : CredentialRouter(
            pool: credentials, store: store, policy: BreakerPolicy(baseOpen: config.breakerOpenSeconds, maxOpen: max(600, config.breakerOpenSeconds)),
            metrics: factory, logger: logger)
    let publicURL = PublicURL(config.effectivePublicURL)
    let callbackSigner = config.providerCallbacksEnabled ? CallbackSigner(secret: signingSecret.value) : nil

    var built = GatewayServices(
        store: store, blobs: blobs, catalog: catalog, outbound: OutboundPolicy(allowedHosts: config.outboundAllowHosts),
        signer: URLSigner(secret: signingSecret.value), clock: clock, liveProviders: credentials.providers,
        configuration: APIConfiguration(
            publicURL: publicURL, videoTTL: config.videoTTL, jobTimeout: config.jobTimeout, maxBodyBytes: config.maxBodyBytes,
            pollInterval: config.pollInterval, adminToken: adminToken.value, queue: config.queueStandingSettings,
            eventKeepAlive: config.eventKeepAlive),
        metrics: HTTPMetrics(factory: factory), callbacks: callbackSigner)
    built.credentials = credentials.all.map {
        CredentialSummary(name: $0.name, provider: $0.provider, route: $0.route.rawValue, weight: $0.weight, maxConcurrency: $0.maxConcurrency)
    }
    built.configuration.tracing = tracing != nil
    let services = built
    let gauges = StoreGauges(store: store, factory: factory, clock: clock)
    let hooks = OperationsHooks {
        await gauges.refresh(logger: logger)
        await credentialRouter?.refreshGauges(at: clock.now())
        return registry.emitToString()
    }
    let (router, routes) = buildRouter(services: services, operations: hooks, routes: config.role == .worker ? .operationsOnly : .api)

    // Services stop in reverse order: the span exporter last, so that it sends the drain's spans.
    var background: [any Service] = (tracing.map { [$0] } ?? []) + [StoreCloser(store: store, logger: logger)]
    // The change feed of the live status streams (the streams themselves end with the server).
    if config.role != .worker { background.append(services.events) }
    if config.role != .api {
        let workerConfiguration = WorkerConfiguration(
            concurrency: config.workerConcurrency, leaseDuration: config.leaseDuration, videoTTL: config.videoTTL,
            sweepInterval: config.sweepInterval, scratchDirectory: config.dataDirectory.appendingPathComponent("tmp"),
            sandboxConcurrency: config.sandboxConcurrency, accountMaxInFlight: config.accountMaxInFlight,
            callbacks: callbackSigner.map { signer in ProviderCallbacks(signer: signer, baseURL: { publicURL.string }) })
        try FileManager.default.createDirectory(at: workerConfiguration.scratchDirectory, withIntermediateDirectories: true)
        var providers: [ProviderKind: any VideoProvider] = [
            .sandbox: SandboxProvider(
                delay: config.sandboxDelay, shortSide: config.sandboxShortSide,
                clipCache: config.dataDirectory.appendingPathComponent("sandbox-clips"), clock: clock)
        ]
        if !credentials.all.isEmpty {
            // One HTTP client for every provider call of this process, shut down after the workers stopped.
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60))))
            background.append(HTTPClientCloser(client: client, logger: logger))
            let outbound = try OutboundClient(policy: OutboundPolicy(allowedHosts: config.outboundAllowHosts))
            let live = config.providers.makeProviders(kinds: credentials.providers, client: client, outbound: outbound, probe: MediaProbe(), logger: logger)
            providers.merge(live) { sandbox, _ in sandbox }
            logger.info("live providers configured", metadata: ["providers": .string(live.keys.map(\.rawValue).sorted().joined(separator: ","))])
        }
        let runner = JobRunner(
            store: store, blobs: blobs, providers: providers, router: credentialRouter,
            routes: { RouteTarget.routes(of: $0, in: catalog) }, probe: MediaProbe(), clock: clock, configuration: workerConfiguration,
            metrics: factory, logger: logger)
        let webhooks = WebhookDeliverer.Configuration(retryBase: config.webhookRetryBase, ownerID: workerConfiguration.ownerID)
        let webhookClient = try OutboundClient(
            policy: OutboundPolicy(allowedHosts: config.outboundAllowHosts), timeout: webhooks.timeout, maxRedirects: 0)
        background.append(
            WebhookDeliverer(
                store: store, client: webhookClient, render: { job in try await services.webhookPayload(job) }, clock: clock,
                configuration: webhooks, logger: logger, shutdownGrace: .milliseconds(Int(min(10, config.drainWindow / 5) * 1000))))
        let housekeeping = ResultSweeper.Configuration(
            interval: workerConfiguration.sweepInterval, retention: Retention(webhookHistory: TimeInterval(config.webhookRetentionDays) * 86_400))
        background.append(ResultSweeper(store: store, blobs: blobs, clock: clock, configuration: housekeeping, metrics: factory, logger: logger))
        // Last, so that it is the first service told to shut down: its drain starts at SIGTERM and
        // ends a few seconds before the drain window, leaving time to close the clients.
        background.append(
            JobWorker(
                runner: runner, store: store, clock: clock, configuration: workerConfiguration, logger: logger,
                shutdownGrace: .milliseconds(Int(max(1, config.drainWindow - 3) * 1000))))
    }
    let application = Application(
        router: router,
        // The idle timeout also closes a connection whose request head never completes.
        server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(config.httpIdleTimeout * 1000)))),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "videogate"),
        services: background,
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? config.port
            if config.publicURL == nil { publicURL.set("http://\(config.host):\(port)") }
            await onServerRunning(port)
        },
        logger: logger)
    return Gateway(
        application: application, services: services, routes: routes, registry: registry, bootstrap: created,
        generatedAdminToken: adminToken.generated ? adminToken.value : nil)
}

/// The store named by `VIDEOGATE_DATABASE_URL` (SQLite in the data directory by default).
public func openStore(_ config: AppConfiguration, logger: Logger = Logger(label: "videogate.store")) throws -> any GatewayStore {
    let durability = SQLiteStore.Durability(rawValue: config.sqliteDurability) ?? .normal
    guard let url = config.databaseURL else {
        return try SQLiteStore(
            path: config.dataDirectory.appendingPathComponent("videogate.sqlite").path, durability: durability,
            groupCommit: config.sqliteGroupCommit)
    }
    if url.hasPrefix("sqlite://") {
        let path = String(url.dropFirst("sqlite://".count))
        guard !path.isEmpty else { throw ConfigurationError("VIDEOGATE_DATABASE_URL sqlite:// needs a path, e.g. sqlite:///var/lib/videogate/db.sqlite") }
        return try SQLiteStore(path: path, durability: durability, groupCommit: config.sqliteGroupCommit)
    }
    if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
        do {
            return try PostgresStore(url: url, poolSize: config.databasePoolSize, logger: logger)
        } catch let error as PostgresURLError {
            throw ConfigurationError("VIDEOGATE_DATABASE_URL: \(error)")
        }
    }
    throw ConfigurationError("VIDEOGATE_DATABASE_URL must start with sqlite:// or postgres://")
}

func openBlobStore(_ config: AppConfiguration) throws -> any BlobStore {
    guard let url = config.storageURL else {
        return try LocalBlobStore(root: config.dataDirectory.appendingPathComponent("videos"))
    }
    if url.hasPrefix("file://") {
        return try LocalBlobStore(root: URL(fileURLWithPath: String(url.dropFirst("file://".count))))
    }
    if url.hasPrefix("s3://") {
        let location: (bucket: String, prefix: String)
        do {
            location = try S3Configuration.parseStorageURL(url)
        } catch {
            throw ConfigurationError("VIDEOGATE_STORAGE_URL must be s3://bucket or s3://bucket/prefix, not '\(url)'")
        }
        guard let accessKeyID = config.s3.accessKeyID, !accessKeyID.isEmpty, let secret = config.s3.secretAccessKey, !secret.isEmpty else {
            throw ConfigurationError("VIDEOGATE_STORAGE_URL is s3://: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let credentials = SigV4Signer.Credentials(
            accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: config.s3.sessionToken.flatMap { $0.isEmpty ? nil : $0 })
        do {
            // Requests go through the process-wide HTTPClient.shared, which needs no shutdown.
            return S3BlobStore(
                configuration: try S3Configuration(
                    bucket: location.bucket, prefix: location.prefix, region: config.s3.region, endpoint: config.s3.endpoint,
                    pathStyle: config.s3.pathStyle, credentials: credentials))
        } catch let error as S3Configuration.Invalid {
            throw ConfigurationError("VIDEOGATE_STORAGE_URL / VIDEOGATE_S3_ENDPOINT: \(error.description)")
        }
    }
    throw ConfigurationError("VIDEOGATE_STORAGE_URL must start with file:// or s3://")
}

/// The shipped catalog with the operator's overrides (`VIDEOGATE_CATALOG_FILE`) applied, then the
/// aliases of the providers file added (their members are checked against the overridden models).
func loadCatalog(_ config: AppConfiguration) throws -> Catalog {
    var catalog = Catalog.standard
    if let file = config.catalogFile {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let overrides: [String: Catalog.Override]
        do {
            overrides = try JSONDecoder().decode([String: Catalog.Override].self, from: data)
        } catch {
            throw ConfigurationError("VIDEOGATE_CATALOG_FILE \(file) is not a JSON object of model overrides: \(error)")
        }
        catalog = try catalog.applying(overrides)
    }
    do {
        return try catalog.adding(config.providers.file.aliases.map { Catalog.Alias(id: $0.id, members: $0.members, credits: $0.credits) })
    } catch {
        throw ConfigurationError("VIDEOGATE_PROVIDERS_FILE: \(error.description)")
    }
}

/// Closes the store after every other service stopped (services stop in reverse order).
struct StoreCloser: Service {
    let store: any GatewayStore
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        // Bounded: closing a PostgreSQL pool whose server stopped answering can hang.
        if !(await waitAtMost(.seconds(1), { try await store.close() })) { logger.warning("closing the store failed or timed out") }
    }
}

/// Shuts the providers' HTTP client down after the workers stopped (services stop in reverse order).
struct HTTPClientCloser: Service {
    let client: HTTPClient
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        // Bounded: a request hung on an unreachable host must not hold the process past its drain window.
        if !(await waitAtMost(.seconds(1), { try await client.shutdown() })) { logger.warning("closing the HTTP client failed or timed out") }
    }
}

/// Job, queue and ledger gauges, refreshed from the store when `/metrics` is scraped (see
/// `StoreStats`: every figure comes from an index or a counter, no table scan).
struct StoreGauges: Sendable {
    let store: any GatewayStore
    let factory: any MetricsFactory
    let clock: any WallClock

    func refresh(logger: Logger) async {
        do {
            let stats = try await store.stats(now: clock.now())
            for status in JobStatus.allCases {
                Gauge(label: "videogate_jobs", dimensions: [("state", status.rawValue)], factory: factory)
                    .record(stats.jobsByStatus[status] ?? 0)
            }
            Gauge(label: "videogate_queue_depth", factory: factory).record(stats.queueDepth)
            for environment in KeyEnvironment.allCases {
                Gauge(label: "videogate_ledger_held_credits", dimensions: [("environment", environment.rawValue)], factory: factory)
                    .record(stats.heldCredits[environment] ?? 0)
            }
        } catch {
            logger.warning("metrics refresh failed", metadata: ["error": .string(String(describing: error))])
        }
    }
}
