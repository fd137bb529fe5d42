import Foundation
import Logging
import Synchronization
import VideogateDomain
import VideogateProviders
import VideogateStorage

/// Settings of the HTTP layer.
public struct APIConfiguration: Sendable {
    /// Base of `video_url` and other links, without a trailing slash.
    public var publicURL: PublicURL
    /// How long a result stays downloadable after completion.
    public var videoTTL: TimeInterval
    /// A job unfinished this long after submission ends in `error` / `timeout`.
    public var jobTimeout: TimeInterval
    /// Request body limit in bytes.
    public var maxBodyBytes: Int
    /// Minimum seconds between polls of one job (0 lifts the throttle), and the burst allowed above it.
    public var pollInterval: TimeInterval
    public var pollBurst: Int
    /// Bearer token of `/admin`.
    public var adminToken: String
    /// How `queue_position` and `estimated_completion_at` are worked out.
    public var queue: QueueStandingSettings
    /// Seconds between `: keep-alive` comments of an idle event stream (at most 15, the contract's bound).
    public var eventKeepAlive: TimeInterval
    /// True when OpenTelemetry traces are exported (docs/tracing.md): each request becomes a server span.
    public var tracing = false

    public init(
        publicURL: PublicURL, videoTTL: TimeInterval = 86_400, jobTimeout: TimeInterval = 1_800, maxBodyBytes: Int = 16 * 1024 * 1024,
        pollInterval: TimeInterval = 5, pollBurst: Int = 3, adminToken: String, queue: QueueStandingSettings = QueueStandingSettings(),
        eventKeepAlive: TimeInterval = 15
    ) {
        self.publicURL = publicURL
        self.videoTTL = videoTTL
        self.jobTimeout = jobTimeout
        self.maxBodyBytes = maxBodyBytes
        self.pollInterval = pollInterval
        self.pollBurst = pollBurst
        self.adminToken = adminToken
        self.queue = queue
        self.eventKeepAlive = eventKeepAlive
    }
}

/// The base of links the server hands out. Set from `VIDEOGATE_PUBLIC_URL`, or from the address
/// the listener actually bound (port 0 picks one) once the server runs.
public final class PublicURL: Sendable {
    private let value: Mutex<String>

    public init(_ value: String) {
        self.value = Mutex(Self.trimmed(value))
    }

    public var string: String { value.withLock { $0 } }

    public func set(_ newValue: String) { value.withLock { $0 = Self.trimmed(newValue) } }

    private static func trimmed(_ value: String) -> String { value.hasSuffix("/") ? String(value.dropLast()) : value }
}

/// Everything the routes use, built once by the application and shared by all requests.
public struct GatewayServices: Sendable {
    public var store: any GatewayStore
    public var blobs: any BlobStore
    public var catalog: Catalog
    public var outbound: OutboundPolicy
    public var signer: URLSigner
    public var clock: any WallClock
    /// Providers with credentials: live jobs of other providers' models are refused with 503.
    public var liveProviders: Set<ProviderKind>
    /// The configured provider credentials, for `GET /admin/providers`.
    public var credentials: [CredentialSummary] = []
    public var configuration: APIConfiguration
    public var metrics: HTTPMetrics
    /// Checks the tokens of provider callbacks (`POST /callbacks/...`); nil when callbacks are off.
    public var callbacks: CallbackSigner?
    /// The live status streams of this process and the change feed they wait on; run it as a service.
    public let events: JobEventHub
    let throttle: PollThrottle
    let standings: QueueStandings
    let healthView = CredentialHealthView()

    public init(
        store: any GatewayStore, blobs: any BlobStore, catalog: Catalog, outbound: OutboundPolicy, signer: URLSigner,
        clock: any WallClock = SystemWallClock(), liveProviders: Set<ProviderKind>, configuration: APIConfiguration, metrics: HTTPMetrics,
        callbacks: CallbackSigner? = nil
    ) {
        self.callbacks = callbacks
        self.store = store
        self.blobs = blobs
        self.catalog = catalog
        self.outbound = outbound
        self.signer = signer
        self.clock = clock
        self.liveProviders = liveProviders
        self.configuration = configuration
        self.metrics = metrics
        self.throttle = PollThrottle(interval: configuration.pollInterval, burst: configuration.pollBurst)
        self.standings = QueueStandings(settings: configuration.queue)
        self.events = JobEventHub(feed: store.jobChangeFeed())
    }

    /// Whether a model can run for keys of an environment: test keys always (the sandbox renders
    /// it); live keys when its provider has credentials, or for an alias, when one member's has.
    public func isAvailable(_ model: VideoModel, for environment: KeyEnvironment) -> Bool {
        guard environment == .live else { return true }
        let members = model.isAlias ? catalog.members(of: model.id) : [model]
        return members.contains { liveProviders.contains($0.provider) }
    }

    var validator: SubmissionValidator { SubmissionValidator(catalog: catalog, outbound: outbound) }
}
