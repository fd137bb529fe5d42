import Foundation
import VideogateDomain
import VideogateProviders

/// What a process runs.
public enum ServerRole: String, Sendable, CaseIterable {
    /// API and workers in one process (the embedded default).
    case all
    /// Only the HTTP API.
    case api
    /// Only the job workers, with `/healthz`, `/readyz`, `/metrics` on the port.
    case worker
}

/// Every setting of a videogate process, read from `VIDEOGATE_*` variables (operations.md);
/// command-line flags of the same meaning override fields after `fromEnvironment`.
public struct AppConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var role = ServerRole.all
    public var dataDirectory = URL(fileURLWithPath: "./data")
    /// `sqlite:///path` or `postgres://user:pass@host:port/db?sslmode=...`; nil: `<data dir>/videogate.sqlite`.
    public var databaseURL: String?
    /// Connections per process to PostgreSQL.
    public var databasePoolSize = 10
    /// `file:///path` or `s3://bucket/prefix`; nil: `<data dir>/videos`.
    public var storageURL: String?
    /// The S3-compatible object store behind an `s3://` storage URL.
    public var s3 = S3Settings()
    /// nil: `http://HOST:PORT`.
    public var publicURL: String?
    public var adminToken: String?
    public var signingSecret: String?
    public var videoTTL: TimeInterval = 86_400
    public var jobTimeout: TimeInterval = 1_800
    public var sandboxDelay: TimeInterval = 3
    public var leaseDuration: TimeInterval = 30
    public var workerConcurrency = 8
    /// Test-key jobs one worker process renders at once, in their own lane (`VIDEOGATE_SANDBOX_CONCURRENCY`).
    public var sandboxConcurrency = ProcessInfo.processInfo.activeProcessorCount
    /// Unfinished jobs of one account handed to providers or the renderer at once; 0: no cap (`VIDEOGATE_ACCOUNT_MAX_IN_FLIGHT`).
    public var accountMaxInFlight = 0
    /// Seconds before the first webhook retry; later ones back off exponentially, for at least 24 h in all.
    public var webhookRetryBase: TimeInterval = 10
    public var outboundAllowHosts: Set<String> = []
    public var maxBodyBytes = 16 * 1024 * 1024
    public var logFormat = LogFormat.text
    public var logLevel = "info"
    /// Minimum seconds between polls of one job; 0 lifts the throttle (benchmarks).
    public var pollInterval: TimeInterval = 5
    public var sqliteDurability = "normal"
    /// Submissions arriving together share one SQLite transaction (`VIDEOGATE_SQLITE_GROUP_COMMIT`;
    /// off gives each its own, for measuring what group commit buys).
    public var sqliteGroupCommit = true
    /// A JSON file of catalog overrides: `{"sora-2": {"credits": 4000, "upstream_model": "..."}}`.
    public var catalogFile: String?
    /// Seconds between passes of the expired-results sweeper.
    public var sweepInterval: TimeInterval = 60
    /// Seconds a client connection may send nothing (headers still incomplete included) before it is closed.
    public var httpIdleTimeout: TimeInterval = 60
    /// Seconds between `: keep-alive` comments of an idle live status stream (1–15).
    public var eventKeepAlive: TimeInterval = 15
    /// Days a finished webhook delivery and its attempts are kept before the sweeper removes them.
    public var webhookRetentionDays = 30
    /// Seconds a process takes at most from SIGTERM to exit: workers drain within it, and a process
    /// still running at its end (a hung database or storage call) exits anyway.
    public var drainWindow: TimeInterval = 15
    /// Short side in pixels of sandbox renders (720: 1280x720 for 16:9).
    public var sandboxShortSide = 720
    /// How long a credential's circuit breaker first stays open (`VIDEOGATE_BREAKER_OPEN_SECONDS`,
    /// default 30 s; it doubles up to 10 min, or this if longer, while it keeps failing).
    public var breakerOpenSeconds: TimeInterval = 30
    /// Credentials and base URLs of the real providers.
    public var providers = ProviderSettings()
    /// Whether providers that offer completion callbacks are asked to call `/callbacks/...`.
    public var providerCallbacks = ProviderCallbackMode.auto

    /// Where the S3-compatible object store is and how to sign for it.
    public struct S3Settings: Sendable {
        /// `http(s)://host[:port]` of an S3-compatible server; nil: AWS (`https://s3.REGION.amazonaws.com`).
        public var endpoint: String?
        public var region = "us-east-1"
        /// Bucket in the path (`endpoint/bucket/key`) instead of the host name (`bucket.endpoint/key`);
        /// from the environment, true by default when an endpoint is named.
        public var pathStyle = false
        public var accessKeyID: String?
        public var secretAccessKey: String?
        public var sessionToken: String?
        public init(
            endpoint: String? = nil, region: String = "us-east-1", pathStyle: Bool = false, accessKeyID: String? = nil,
            secretAccessKey: String? = nil, sessionToken: String? = nil
        ) {
            self.endpoint = endpoint
            self.region = region
            self.pathStyle = pathStyle
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    public enum LogFormat: String, Sendable {
        case text
        case json
    }

    public init() {}

    /// Reads the environment. Invalid values are errors naming the variable.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfiguration {
        var config = AppConfiguration()
        let reader = EnvironmentReader(environment)
        config.host = reader.string("VIDEOGATE_HOST") ?? config.host
        config.port = try reader.integer("VIDEOGATE_PORT", in: 0...65535) ?? config.port
        if let dir = reader.string("VIDEOGATE_DATA_DIR") { config.dataDirectory = URL(fileURLWithPath: dir) }
        config.databaseURL = reader.string("VIDEOGATE_DATABASE_URL")
        config.databasePoolSize = try reader.integer("VIDEOGATE_DATABASE_POOL_SIZE", in: 1...1_000) ?? config.databasePoolSize
        config.storageURL = reader.string("VIDEOGATE_STORAGE_URL")
        let s3Endpoint = try reader.baseURL("VIDEOGATE_S3_ENDPOINT")
        config.s3 = S3Settings(
            endpoint: s3Endpoint,
            region: reader.string("VIDEOGATE_S3_REGION") ?? reader.string("AWS_REGION") ?? reader.string("AWS_DEFAULT_REGION") ?? "us-east-1",
            // operations.md: S3-compatible servers named by an endpoint rarely resolve `bucket.host`.
            pathStyle: try reader.boolean("VIDEOGATE_S3_PATH_STYLE") ?? (s3Endpoint != nil),
            accessKeyID: reader.string("AWS_ACCESS_KEY_ID"),
            secretAccessKey: reader.string("AWS_SECRET_ACCESS_KEY"),
            sessionToken: reader.string("AWS_SESSION_TOKEN"))
        config.publicURL = reader.string("VIDEOGATE_PUBLIC_URL")
        config.adminToken = reader.string("VIDEOGATE_ADMIN_TOKEN")
        config.signingSecret = reader.string("VIDEOGATE_SIGNING_SECRET")
        config.videoTTL = TimeInterval(try reader.integer("VIDEOGATE_VIDEO_TTL_SECONDS", in: 1...31_536_000) ?? 86_400)
        config.jobTimeout = TimeInterval(try reader.integer("VIDEOGATE_JOB_TIMEOUT_SECONDS", in: 1...604_800) ?? 1_800)
        config.sandboxDelay = Double(try reader.integer("VIDEOGATE_SANDBOX_DELAY_MS", in: 0...3_600_000) ?? 3_000) / 1000
        config.leaseDuration = TimeInterval(try reader.integer("VIDEOGATE_JOB_LEASE_SECONDS", in: 1...3_600) ?? 30)
        config.workerConcurrency = try reader.integer("VIDEOGATE_WORKER_CONCURRENCY", in: 1...1_024) ?? 8
        config.sandboxConcurrency =
            try reader.integer("VIDEOGATE_SANDBOX_CONCURRENCY", in: 1...1_024) ?? ProcessInfo.processInfo.activeProcessorCount
        config.accountMaxInFlight = try reader.integer("VIDEOGATE_ACCOUNT_MAX_IN_FLIGHT", in: 0...1_000_000) ?? 0
        config.webhookRetryBase = TimeInterval(try reader.integer("VIDEOGATE_WEBHOOK_RETRY_BASE_SECONDS", in: 1...3_600) ?? 10)
        if let hosts = reader.string("VIDEOGATE_OUTBOUND_ALLOW_HOSTS") {
            config.outboundAllowHosts = Set(hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        config.maxBodyBytes = try reader.integer("VIDEOGATE_MAX_BODY_BYTES", in: 1_024...1_073_741_824) ?? config.maxBodyBytes
        if let format = reader.string("VIDEOGATE_LOG_FORMAT") {
            guard let parsed = LogFormat(rawValue: format) else { throw ConfigurationError("VIDEOGATE_LOG_FORMAT must be text or json") }
            config.logFormat = parsed
        }
        config.logLevel = reader.string("VIDEOGATE_LOG_LEVEL") ?? config.logLevel
        config.pollInterval = TimeInterval(try reader.integer("VIDEOGATE_POLL_INTERVAL_SECONDS", in: 0...3_600) ?? 5)
        if let durability = reader.string("VIDEOGATE_SQLITE_SYNCHRONOUS") {
            guard ["normal", "full"].contains(durability) else { throw ConfigurationError("VIDEOGATE_SQLITE_SYNCHRONOUS must be normal or full") }
            config.sqliteDurability = durability
        }
        if let groupCommit = reader.string("VIDEOGATE_SQLITE_GROUP_COMMIT") {
            guard ["on", "off"].contains(groupCommit) else { throw ConfigurationError("VIDEOGATE_SQLITE_GROUP_COMMIT must be on or off") }
            config.sqliteGroupCommit = groupCommit == "on"
        }
        config.catalogFile = reader.string("VIDEOGATE_CATALOG_FILE")
        config.sweepInterval = TimeInterval(try reader.integer("VIDEOGATE_SWEEP_INTERVAL_SECONDS", in: 1...86_400) ?? 60)
        config.httpIdleTimeout = TimeInterval(try reader.integer("VIDEOGATE_HTTP_IDLE_TIMEOUT_SECONDS", in: 1...86_400) ?? 60)
        config.eventKeepAlive = TimeInterval(try reader.integer("VIDEOGATE_EVENTS_KEEPALIVE_SECONDS", in: 1...15) ?? 15)
        config.webhookRetentionDays = try reader.integer("VIDEOGATE_WEBHOOK_RETENTION_DAYS", in: 1...3_650) ?? config.webhookRetentionDays
        config.drainWindow = TimeInterval(try reader.integer("VIDEOGATE_DRAIN_SECONDS", in: 2...600) ?? 15)
        config.sandboxShortSide = try reader.integer("VIDEOGATE_SANDBOX_SHORT_SIDE", in: 64...2160) ?? config.sandboxShortSide
        config.breakerOpenSeconds = TimeInterval(try reader.integer("VIDEOGATE_BREAKER_OPEN_SECONDS", in: 1...3_600) ?? 30)
        config.providers = try providerSettings(reader)
        if let mode = reader.string("VIDEOGATE_PROVIDER_CALLBACKS") {
            guard let parsed = ProviderCallbackMode(rawValue: mode.lowercased()) else {
                throw ConfigurationError("VIDEOGATE_PROVIDER_CALLBACKS must be auto, on or off, not '\(mode)'")
            }
            config.providerCallbacks = parsed
        }
        return config
    }

    var effectivePublicURL: String { publicURL ?? "http://\(host):\(port)" }

    /// Whether provider callbacks are on: `auto` turns them on when `VIDEOGATE_PUBLIC_URL` is
    /// https://, the only kind of address a provider on the internet can be expected to reach.
    public var providerCallbacksEnabled: Bool {
        switch providerCallbacks {
        case .on: true
        case .off: false
        case .auto: publicURL?.lowercased().hasPrefix("https://") ?? false
        }
    }

    /// The providers' variables of operations.md, and our limits for calling them.
    static func providerSettings(_ reader: EnvironmentReader) throws -> ProviderSettings {
        var settings = ProviderSettings()
        settings.openAIKey = reader.string("OPENAI_API_KEY")
        settings.openAIBaseURL = try reader.baseURL("VIDEOGATE_OPENAI_BASE_URL") ?? settings.openAIBaseURL
        if let auth = reader.string("VIDEOGATE_OPENAI_AUTH") {
            guard let style = SoraProvider.AuthStyle(rawValue: auth) else { throw ConfigurationError("VIDEOGATE_OPENAI_AUTH must be bearer or api-key") }
            settings.openAIAuth = style
        }
        settings.geminiKey = reader.string("GEMINI_API_KEY")
        settings.geminiBaseURL = try reader.baseURL("VIDEOGATE_GEMINI_BASE_URL") ?? settings.geminiBaseURL
        settings.klingAccessKey = reader.string("KLING_ACCESS_KEY")
        settings.klingSecretKey = reader.string("KLING_SECRET_KEY")
        if (settings.klingAccessKey == nil) != (settings.klingSecretKey == nil) {
            throw ConfigurationError("KLING_ACCESS_KEY and KLING_SECRET_KEY must be set together")
        }
        settings.klingBaseURL = try reader.baseURL("VIDEOGATE_KLING_BASE_URL") ?? settings.klingBaseURL
        settings.dashscopeKey = reader.string("DASHSCOPE_API_KEY")
        settings.dashscopeBaseURL = try reader.baseURL("VIDEOGATE_DASHSCOPE_BASE_URL") ?? settings.dashscopeBaseURL
        settings.arkKey = reader.string("ARK_API_KEY")
        settings.arkBaseURL = try reader.baseURL("VIDEOGATE_ARK_BASE_URL") ?? settings.arkBaseURL
        settings.concurrency = try reader.integer("VIDEOGATE_PROVIDER_CONCURRENCY", in: 1...1_024) ?? settings.concurrency
        if let text = reader.string("VIDEOGATE_PROVIDER_POLL_SECONDS") {
            guard let seconds = Double(text), seconds > 0, seconds <= 3_600 else {
                throw ConfigurationError("VIDEOGATE_PROVIDER_POLL_SECONDS must be a number of seconds from 0 to 3600, not '\(text)'")
            }
            settings.pollSchedule = PollSchedule(firstPoll: seconds, interval: seconds, maxInterval: seconds * 4)
        }
        settings.environment = reader.environment
        if let path = reader.string("VIDEOGATE_PROVIDERS_FILE") {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ConfigurationError("VIDEOGATE_PROVIDERS_FILE: \(path) cannot be read")
            }
            do {
                settings.file = try ProvidersFile.parse(data)
            } catch {
                throw ConfigurationError("VIDEOGATE_PROVIDERS_FILE \(path): \(error.description)")
            }
        }
        do {
            _ = try settings.credentials()
        } catch {
            throw ConfigurationError("VIDEOGATE_PROVIDERS_FILE: \(error.description)")
        }
        return settings
    }
}

/// `VIDEOGATE_PROVIDER_CALLBACKS`.
public enum ProviderCallbackMode: String, Sendable {
    /// On when `VIDEOGATE_PUBLIC_URL` is https:// (the default).
    case auto
    case on
    case off
}

/// A setting that cannot be used; the message names it.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

struct EnvironmentReader {
    let environment: [String: String]
    init(_ environment: [String: String]) { self.environment = environment }

    func string(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// An http(s) base URL without a trailing slash.
    func baseURL(_ name: String) throws -> String? {
        guard var text = string(name) else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ConfigurationError("\(name) must be an http:// or https:// URL, not '\(text)'")
        }
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    func boolean(_ name: String) throws -> Bool? {
        guard let text = string(name)?.lowercased() else { return nil }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError("\(name) must be true or false, not '\(text)'")
        }
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }
}
