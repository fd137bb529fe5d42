import Foundation
import Hummingbird
import VideogateDomain

extension AdminRoutes {
    /// `GET /admin/providers`: every configured credential with its circuit breaker (shared by all
    /// processes through the database) and the jobs it has in flight.
    func providers(_ request: Request, context: AppRequestContext) async throws -> Response {
        try services.authenticateAdmin(request)
        let now = services.clock.now()
        let health = Dictionary(try await services.store.credentialHealth().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let inFlight = try await services.store.credentialsInFlight(at: now)
        let views = services.credentials.map { credential in
            AdminCredentialView(credential, health: health[credential.name], inFlight: inFlight[credential.name] ?? 0, now: now)
        }
        return JSONResponse.make(AdminCredentialList(credentials: views))
    }
}

struct AdminCredentialList: Encodable {
    let success = true
    let credentials: [AdminCredentialView]
}

/// One credential of `GET /admin/providers`.
struct AdminCredentialView: Encodable {
    let provider: String
    let name: String
    let route: String
    let weight: Int
    let maxConcurrency: NullOr<Int>
    let state: String
    let inFlight: Int
    /// Consecutive failures of creates (reset by a success).
    let recentFailures: Int
    let lastError: NullOr<String>
    let lastFailureAt: NullOr<String>
    /// While open: when it may be probed.
    let openedUntil: NullOr<String>
    /// Failed creates since the credential was first used (every process's).
    let failuresTotal: Int

    enum CodingKeys: String, CodingKey {
        case provider, name, route, weight, state
        case maxConcurrency = "max_concurrency"
        case inFlight = "in_flight"
        case recentFailures = "recent_failures"
        case lastError = "last_error"
        case lastFailureAt = "last_failure_at"
        case openedUntil = "opened_until"
        case failuresTotal = "failures_total"
    }

    init(_ credential: CredentialSummary, health: CredentialHealth?, inFlight: Int, now: Date) {
        provider = credential.provider.rawValue
        name = credential.name
        route = credential.route
        weight = credential.weight
        maxConcurrency = NullOr(credential.maxConcurrency)
        // An open breaker whose period is over shows as half-open: the next create probes it.
        var state = health?.state ?? .closed
        if state == .open, let until = health?.openedUntil, until <= now { state = .halfOpen }
        self.state = state.rawValue
        self.inFlight = inFlight
        recentFailures = health?.consecutiveFailures ?? 0
        lastError = NullOr(health?.lastError)
        lastFailureAt = NullOr(health?.lastFailureAt?.rfc3339)
        openedUntil = NullOr(health?.state == .closed ? nil : health?.openedUntil?.rfc3339)
        failuresTotal = health?.failuresTotal ?? 0
    }
}
