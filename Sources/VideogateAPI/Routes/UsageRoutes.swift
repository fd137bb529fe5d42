import Foundation
import Hummingbird
import VideogateDomain

/// `GET /v1/usage` (the caller's account and key environment) and `GET /admin/usage` (across accounts).
struct UsageRoutes: Sendable {
    let services: GatewayServices

    /// `?from=&to=&group_by=day|model|key`: the caller's usage; reads only, counts nothing against the daily limit.
    func usage(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.withRateLimitHeaders(request) { principal, now in
            let range = try Self.range(request, now: now)
            let grouping = try Self.grouping(request, allowed: UsageGrouping.forAccounts)
            let rows = try await services.store.usage(
                UsageQuery(accountID: principal.account.id, environment: principal.key.environment, range: range, grouping: grouping))
            return JSONResponse.make(UsageReport(rows: rows, range: range, grouping: grouping))
        }
    }

    /// `?account=&environment=live|test&from=&to=&group_by=day|model|key|account`: one account's usage
    /// or all accounts' (no `account`), of one environment (default `live`: test credits are not money).
    func adminUsage(_ request: Request, context: AppRequestContext) async throws -> Response {
        try services.authenticateAdmin(request)
        let query = request.uri.queryParameters
        let range = try Self.range(request, now: services.clock.now())
        let grouping = try Self.grouping(request, allowed: UsageGrouping.allCases)
        var environment = KeyEnvironment.live
        if let text = query["environment"].map(String.init) {
            guard let value = KeyEnvironment(rawValue: text) else {
                throw GatewayError(.invalidParameter, "environment must be live or test.", param: "environment")
            }
            environment = value
        }
        let account = query["account"].map(String.init)
        if let account {
            guard try await services.store.account(id: account) != nil else { throw AdminActions.noAccount }
        }
        let rows = try await services.store.usage(UsageQuery(accountID: account, environment: environment, range: range, grouping: grouping))
        return JSONResponse.make(UsageReport(rows: rows, range: range, grouping: grouping))
    }

    static func range(_ request: Request, now: Date) throws(GatewayError) -> UsageRange {
        let query = request.uri.queryParameters
        return try UsageRange.parse(from: query["from"].map(String.init), to: query["to"].map(String.init), now: now)
    }

    /// `group_by`, default `day`.
    static func grouping(_ request: Request, allowed: [UsageGrouping]) throws(GatewayError) -> UsageGrouping {
        guard let text = request.uri.queryParameters["group_by"].map(String.init) else { return .day }
        guard let grouping = UsageGrouping(rawValue: text), allowed.contains(grouping) else {
            throw GatewayError(
                .invalidParameter, "group_by must be one of \(allowed.map(\.rawValue).joined(separator: ", ")).", param: "group_by")
        }
        return grouping
    }
}
