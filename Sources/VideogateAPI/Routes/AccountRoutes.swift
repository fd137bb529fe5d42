import Foundation
import Hummingbird
import VideogateDomain

/// `GET /v1/models` and `GET /v1/account`.
struct AccountRoutes: Sendable {
    let services: GatewayServices

    struct ModelView: Encodable {
        let id: String
        let provider: String
        let providerName: String
        let mode: String
        let credits: Int
        let durations: [Int]
        let defaultDuration: Int
        let aspectRatios: [String]
        let defaultAspectRatio: String
        let available: Bool
        /// Aliases only: the member model ids, in the order a job is offered to them.
        let members: [String]?
        enum CodingKeys: String, CodingKey {
            case id, provider, mode, credits, durations, available, members
            case providerName = "provider_name"
            case defaultDuration = "default_duration"
            case aspectRatios = "aspect_ratios"
            case defaultAspectRatio = "default_aspect_ratio"
        }
    }

    struct ModelList: Encodable {
        let success = true
        let data: [ModelView]
    }

    /// The catalog, aliases last with their members (an alias's provider is its first member's);
    /// `available` is for the caller's key environment.
    func models(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try await services.authenticate(request, withQuota: false)
        let views = services.catalog.enabledModels.map { model in
            ModelView(
                id: model.id, provider: model.provider.rawValue, providerName: model.provider.displayName, mode: model.mode.rawValue,
                credits: model.credits, durations: model.durations, defaultDuration: model.defaultDuration,
                aspectRatios: model.aspectRatios.map(\.rawValue), defaultAspectRatio: model.defaultAspectRatio.rawValue,
                available: services.isAvailable(model, for: principal.key.environment), members: model.isAlias ? model.members : nil)
        }
        return JSONResponse.make(ModelList(data: views))
    }

    struct AccountView: Encodable {
        /// The calling key, with its daily spend limit (JSON null: none) and what its jobs of the last
        /// 24 hours hold or were charged (`SpendLimit`).
        struct KeyInfo: Encodable {
            let id: String
            let environment: String
            let spendLimitDaily: NullOr<Int>
            let spentLast24h: Int
            enum CodingKeys: String, CodingKey {
                case id, environment
                case spendLimitDaily = "spend_limit_daily"
                case spentLast24h = "spent_last_24h"
            }
        }
        let id: String
        let name: String
        let plan: String
        let key: KeyInfo
        let balances: [String: BalanceView]
        let dailyLimit: Int
        let used: Int
        let remaining: Int
        let resetAt: String
        enum CodingKeys: String, CodingKey {
            case id, name, plan, key, balances, used, remaining
            case dailyLimit = "daily_limit"
            case resetAt = "reset_at"
        }
    }

    struct AccountEnvelope: Encodable {
        let success = true
        let account: AccountView
    }

    /// Plan, balances, the calling key's use of its daily limit, and its spend limit and spend.
    func account(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.withRateLimitHeaders(request) { principal, now in
            let balances = try await services.store.balances(accountID: principal.account.id)
            let spend = try await services.store.keySpend(keyID: principal.key.id, at: now)
            let quota = principal.quota ?? QuotaStatus(limit: principal.account.dailyLimit, used: 0, resetAt: principal.now)
            let account = principal.account
            return JSONResponse.make(
                AccountEnvelope(
                    account: AccountView(
                        id: account.id, name: account.name, plan: account.plan.rawValue,
                        key: .init(
                            id: principal.key.id, environment: principal.key.environment.rawValue, spendLimitDaily: NullOr(spend.limit),
                            spentLast24h: spend.spent),
                        balances: balancesView(balances),
                        dailyLimit: quota.limit, used: quota.used, remaining: quota.remaining, resetAt: quota.resetAt.rfc3339)))
        }
    }
}
