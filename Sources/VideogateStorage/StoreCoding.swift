import Foundation
import VideogateDomain

/// Conversions both SQL stores share, so the two dialects store the same values:
/// times as integer milliseconds since 1970 (UTC), enums as their raw strings, metadata as JSON.
enum StoreCoding {
    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func millis(_ date: Date?) -> Int64? { date.map { millis($0) } }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
    static func date(_ millis: Int64?) -> Date? { millis.map { date($0) } }

    static func encodeMetadata(_ metadata: [String: String]) -> String {
        if metadata.isEmpty { return "{}" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let data = try? encoder.encode(metadata) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeMetadata(_ text: String?) -> [String: String] {
        guard let text, text != "{}", let value = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else { return [:] }
        return value
    }

    /// Refusal of a submission for lack of credits.
    static func insufficientCredits(price: Int, available: Int) -> GatewayError {
        GatewayError(
            .insufficientCredits,
            "This job costs \(price) credits and \(max(0, available)) are available (balance minus credits held by unfinished jobs).")
    }

    /// Refusal of a submission over the daily limit.
    static func rateLimited(_ quota: QuotaStatus, now: Date) -> GatewayError {
        let wait = max(1, Int(quota.resetAt.timeIntervalSince(now).rounded(.up)))
        return GatewayError(
            .rateLimitExceeded, "This key has used its \(quota.limit) requests of the last 24 hours. Retry after \(wait) seconds.",
            retryAfter: wait)
    }

    static func idempotencyConflict() -> GatewayError {
        GatewayError(
            .idempotencyConflict, "This Idempotency-Key was used within 24 hours with a different request body.",
            param: "Idempotency-Key")
    }

    /// How long an idempotency record answers replays.
    static let idempotencyWindow: TimeInterval = 24 * 3600
}
