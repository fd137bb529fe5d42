import Foundation
import Synchronization
import VideogateDomain
import VideogateStorage

/// The credential health the workers share in the store (`credential_health`), as submissions see
/// it: read at most once a second per process, so a burst of live submissions costs one query.
final class CredentialHealthView: Sendable {
    private struct Cache {
        var health: [String: CredentialHealth] = [:]
        var readAt: Date?
    }
    private let cache = Mutex(Cache())
    private let maxAge: TimeInterval

    init(maxAge: TimeInterval = 1) { self.maxAge = maxAge }

    /// The health rows by credential name; what was last read when the store cannot answer.
    func health(from store: any GatewayStore, at now: Date) async -> [String: CredentialHealth] {
        let cached = cache.withLock { cache -> [String: CredentialHealth]? in
            guard let readAt = cache.readAt, now.timeIntervalSince(readAt) < maxAge, readAt <= now else { return nil }
            return cache.health
        }
        if let cached { return cached }
        guard let rows = try? await store.credentialHealth() else { return cache.withLock { $0.health } }
        let health = Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        cache.withLock { $0 = Cache(health: health, readAt: now) }
        return health
    }
}

extension GatewayServices {
    /// For a live submission: when every credential that could serve `model` (its provider's, or
    /// for an alias every member's) has an open breaker, the earliest moment one may be tried
    /// again; nil while at least one is usable (closed, due for a probe, or being probed). Such a
    /// model has "no usable credential at all" (operations.md, "Provider routing").
    func credentialsOpenUntil(_ model: VideoModel, at now: Date) async -> Date? {
        let providers = Set((model.isAlias ? catalog.members(of: model.id) : [model]).map(\.provider))
        let names = credentials.filter { providers.contains($0.provider) }.map(\.name)
        guard !names.isEmpty else { return nil }
        let health = await healthView.health(from: store, at: now)
        var earliest: Date?
        for name in names {
            guard let row = health[name], row.state == .open, let until = row.openedUntil, until > now else { return nil }
            earliest = min(earliest ?? until, until)
        }
        return earliest
    }
}
