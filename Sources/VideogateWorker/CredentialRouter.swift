import Foundation
import Logging
import Metrics
import Synchronization
import VideogateDomain
import VideogateProviders
import VideogateStorage

/// Chooses the credential a create goes to, and keeps every credential's circuit breaker
/// (operations.md, "Provider routing").
///
/// Health is **shared** through the database (`credential_health`), not kept per process: every
/// worker process records its creates' outcomes there, in a transaction per outcome, so five
/// failures seen by five different processes open the breaker as surely as five seen by one, and
/// a half-open probe is claimed by exactly one process. Each process reads the table at most once
/// a second (`refreshInterval`), so a breaker opened elsewhere is seen within a second. A success
/// is written only when it changes something (the breaker had failures), so a healthy credential
/// costs no writes.
public final class CredentialRouter: Sendable {
    public let pool: CredentialPool
    let store: any GatewayStore
    let policy: BreakerPolicy
    let refreshInterval: TimeInterval
    let metrics: any MetricsFactory
    let logger: Logger
    let cache = Mutex<(health: [String: CredentialHealth], readAt: Date?)>(([:], nil))

    public init(
        pool: CredentialPool, store: any GatewayStore, policy: BreakerPolicy = .standard, refreshInterval: TimeInterval = 1,
        metrics: any MetricsFactory, logger: Logger
    ) {
        self.pool = pool
        self.store = store
        self.policy = policy
        self.refreshInterval = refreshInterval
        self.metrics = metrics
        self.logger = logger
    }

    /// The breakers as last read, re-read when older than `refreshInterval`.
    func health(at now: Date) async -> [String: CredentialHealth] {
        let cached = cache.withLock { $0 }
        if let readAt = cached.readAt, now.timeIntervalSince(readAt) < refreshInterval, now >= readAt { return cached.health }
        do {
            let rows = try await store.credentialHealth()
            let health = Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            cache.withLock { $0 = (health, now) }
            publish(health)
            return health
        } catch {
            logger.warning("reading credential health failed; using the last reading", metadata: ["error": .string(String(describing: error))])
            return cached.health
        }
    }

    /// The credentials of `provider` a create may go to now, in the order to try them: the closed
    /// ones in a weighted random order (each next pick among the rest, chance proportional to
    /// weight), then those whose breaker may be probed. `first` (the credential an earlier attempt
    /// of the same job may have created the upstream job under) goes first whatever its breaker
    /// says, so that its provider's look-up by client id can find that job. Also returns when the
    /// earliest open breaker may be probed, for a job that finds none.
    func candidates(for provider: ProviderKind, first: String?, at now: Date) async -> (credentials: [(ProviderCredential, probe: Bool)], reopensAt: Date?) {
        let health = await health(at: now)
        var usable: [ProviderCredential] = []
        var probes: [ProviderCredential] = []
        var reopensAt: Date?
        var leading: ProviderCredential?
        for credential in pool.of(provider) {
            if credential.name == first {
                leading = credential
                continue
            }
            switch health[credential.name]?.availability(at: now) ?? .usable {
            case .usable: usable.append(credential)
            case .probe: probes.append(credential)
            case .unavailable(let until):
                if let until { reopensAt = min(reopensAt ?? until, until) }
            }
        }
        var ordered: [(ProviderCredential, probe: Bool)] = leading.map { [($0, false)] } ?? []
        ordered += Self.weightedOrder(usable).map { ($0, false) }
        ordered += probes.map { ($0, true) }
        return (ordered, reopensAt)
    }

    /// `credentials` in a random order where each next one is drawn with a chance proportional to its weight.
    static func weightedOrder(_ credentials: [ProviderCredential], random: () -> Double = { Double.random(in: 0..<1) }) -> [ProviderCredential] {
        var rest = credentials
        var ordered: [ProviderCredential] = []
        while !rest.isEmpty {
            let total = rest.reduce(0) { $0 + $1.weight }
            var point = random() * Double(total)
            var index = rest.count - 1
            for (position, credential) in rest.enumerated() {
                point -= Double(credential.weight)
                if point < 0 {
                    index = position
                    break
                }
            }
            ordered.append(rest.remove(at: index))
        }
        return ordered
    }

    /// Claims the half-open probe of `credential`; false when another process has it or it closed.
    func claimProbe(_ credential: ProviderCredential, at now: Date) async -> Bool {
        let policy = policy
        let claimed = await update(credential, at: now) { $0.claimingProbe(at: now, policy: policy) }
        if claimed != nil { logger.info("probing credential", metadata: ["credential": .string(credential.name)]) }
        return claimed != nil
    }

    /// A create failed in a way that blames the credential (network, time-out, 408, 429, 5xx, refused credential).
    func recordFailure(_ credential: ProviderCredential, _ message: String, at now: Date) async {
        counter("videogate_credential_failures_total", credential).increment()
        let policy = policy
        let after = await update(credential, at: now) { $0.afterFailure(message, at: now, policy: policy) }
        if let after, after.state == .open, after.consecutiveFailures >= 1 {
            logger.warning(
                "credential failing", metadata: ["credential": .string(credential.name), "state": .string(after.state.rawValue), "error": .string(message)])
        }
    }

    /// The provider accepted a create: a breaker with failures, open or half-open closes.
    func recordSuccess(_ credential: ProviderCredential, at now: Date) async {
        counter("videogate_credential_successes_total", credential).increment()
        guard let known = cache.withLock({ $0.health[credential.name] }), known.state != .closed || known.consecutiveFailures > 0 else { return }
        _ = await update(credential, at: now) { health in
            health.state == .closed && health.consecutiveFailures == 0 ? nil : health.afterSuccess(at: now)
        }
    }

    /// The provider refused the request itself (the caller's outcome): the breaker's failures stay
    /// as they are, but a probe that got such an answer shows the credential works.
    func recordAnswered(_ credential: ProviderCredential, at now: Date) async {
        guard cache.withLock({ $0.health[credential.name]?.state }) == .halfOpen else { return }
        _ = await update(credential, at: now) { $0.state == .halfOpen ? $0.afterSuccess(at: now) : nil }
    }

    private func update(
        _ credential: ProviderCredential, at now: Date, _ change: @escaping @Sendable (CredentialHealth) -> CredentialHealth?
    ) async -> CredentialHealth? {
        do {
            let stored = try await store.updateCredentialHealth(name: credential.name, provider: credential.provider.rawValue, at: now, change)
            if let stored {
                let health = cache.withLock { cache in
                    cache.health[stored.name] = stored
                    return cache.health
                }
                publish(health)
            }
            return stored
        } catch {
            logger.warning("recording credential health failed", metadata: ["credential": .string(credential.name), "error": .string(String(describing: error))])
            return nil
        }
    }

    /// Sets the gauges of every credential: its breaker state (one gauge per state, 1 for the
    /// current one) and its consecutive failures.
    func publish(_ health: [String: CredentialHealth]) {
        for credential in pool.all {
            let current = health[credential.name]
            let state = current?.state ?? .closed
            for candidate in BreakerState.allCases {
                Gauge(
                    label: "videogate_credential_state",
                    dimensions: [("credential", credential.name), ("provider", credential.provider.rawValue), ("state", candidate.rawValue)],
                    factory: metrics
                ).record(candidate == state ? 1 : 0)
            }
            Gauge(label: "videogate_credential_recent_failures", dimensions: [("credential", credential.name)], factory: metrics)
                .record(current?.consecutiveFailures ?? 0)
        }
    }

    /// Sets the in-flight gauge of every credential.
    func publishInFlight(_ counts: [String: Int]) {
        for credential in pool.all {
            Gauge(label: "videogate_credential_in_flight", dimensions: [("credential", credential.name)], factory: metrics)
                .record(counts[credential.name] ?? 0)
        }
    }

    private func counter(_ label: String, _ credential: ProviderCredential) -> Counter {
        Counter(label: label, dimensions: [("credential", credential.name), ("provider", credential.provider.rawValue)], factory: metrics)
    }
}

/// One model a job may run on: the job's own, or one member of its alias, in order.
public struct RouteTarget: Sendable, Equatable {
    /// The member's catalog id for an alias; nil for the job's own model.
    public var memberID: String?
    public var provider: ProviderKind
    public var upstreamModel: String

    public init(memberID: String?, provider: ProviderKind, upstreamModel: String) {
        self.memberID = memberID
        self.provider = provider
        self.upstreamModel = upstreamModel
    }

    /// The job's own model.
    public static func own(_ job: Job) -> [RouteTarget] {
        [RouteTarget(memberID: nil, provider: job.provider, upstreamModel: job.upstreamModel)]
    }

    /// The members of the job's alias in order, when its model is an alias of `catalog`; otherwise
    /// (a plain model, or an alias since removed from the providers file) the job's own model.
    public static func routes(of job: Job, in catalog: Catalog) -> [RouteTarget] {
        guard catalog.isAlias(job.modelID) else { return own(job) }
        let members = catalog.members(of: job.modelID)
        guard !members.isEmpty else { return own(job) }
        return members.map { RouteTarget(memberID: $0.id, provider: $0.provider, upstreamModel: $0.upstreamModel) }
    }
}

extension CredentialRouter {
    /// Re-reads health and in-flight counts and sets every credential gauge (on each `/metrics` scrape).
    public func refreshGauges(at now: Date) async {
        cache.withLock { $0.readAt = nil }
        _ = await health(at: now)
        if let counts = try? await store.credentialsInFlight(at: now) { publishInFlight(counts) }
    }
}
