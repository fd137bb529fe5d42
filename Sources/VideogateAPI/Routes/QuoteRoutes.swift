import Foundation
import Hummingbird
import VideogateDomain

/// `POST /v1/video/quote`: what a submission of the same body would hold, and whether it would be
/// accepted now, without creating, holding or counting anything.
struct QuoteRoutes: Sendable {
    let services: GatewayServices

    /// The answer: the contract's fields, plus what is left of the key's spend limit.
    struct QuoteView: Encodable {
        let success = true
        let model: String
        let mode: String
        let aspectRatio: String
        let duration: Int
        let credits: Int
        let availableCredits: Int
        let affordable: Bool
        /// Nil (JSON null) when the key has no spend limit.
        let spendLimitRemaining: NullOr<Int>
        enum CodingKeys: String, CodingKey {
            case success, model, mode, duration, credits, affordable
            case aspectRatio = "aspect_ratio"
            case availableCredits = "available_credits"
            case spendLimitRemaining = "spend_limit_remaining"
        }
    }

    /// Checks the body exactly as `POST /v1/video` does (`GatewayServices.prepare`, the same code):
    /// key (401) → body (415/413/400) → fields (400) → live availability (503); the daily limit is
    /// neither checked nor counted (its figures are in the rate-limit headers). Then, instead of
    /// 402, `affordable`: whether the price fits both the key's spend limit and the available credits.
    func quote(_ request: Request, context: AppRequestContext) async throws -> Response {
        let limit = services.configuration.maxBodyBytes
        return try await services.withRateLimitHeaders(request) { principal, now in
            var request = request
            let prepared = try await services.prepare(&request, principal: principal, jobID: Identifier.make("req", at: now)) {
                request throws(GatewayError) in try await JSONBody.read(&request, limit: limit)
            }
            let job = prepared.job
            let balance = try await services.store.balances(accountID: principal.account.id)[principal.key.environment] ?? .zero
            let spend = try await services.store.keySpend(keyID: principal.key.id, at: now)
            let withinLimit = SpendLimit.refusal(price: job.creditsReserved, spent: spend.spent, limit: spend.limit) == nil
            return JSONResponse.make(
                QuoteView(
                    model: job.modelID, mode: job.mode.rawValue, aspectRatio: job.aspectRatio.rawValue, duration: job.duration,
                    credits: job.creditsReserved, availableCredits: balance.available,
                    affordable: withinLimit && LedgerRules.hold(job.creditsReserved, on: balance) != nil,
                    spendLimitRemaining: NullOr(spend.remaining)))
        }
    }
}
