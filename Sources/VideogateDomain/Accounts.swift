import Foundation

/// A customer account.
public struct Account: Sendable, Equatable {
    public var id: String
    public var name: String
    public var plan: Plan
    /// Requests per key per rolling 24 hours.
    public var dailyLimit: Int
    /// Secret for signing webhooks (`whsec_...`).
    public var webhookSecret: String
    public var createdAt: Date
    public init(id: String, name: String, plan: Plan, dailyLimit: Int, webhookSecret: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.plan = plan
        self.dailyLimit = dailyLimit
        self.webhookSecret = webhookSecret
        self.createdAt = createdAt
    }
}

/// An API key as stored: never the secret, only its SHA-256.
public struct APIKey: Sendable, Equatable {
    public var id: String
    public var accountID: String
    public var environment: KeyEnvironment
    public var name: String?
    /// The first characters of the secret, to recognise it in lists (`vg_test_Ab3d`).
    public var prefix: String
    public var hash: String
    public var createdAt: Date
    public var revokedAt: Date?
    /// Credits this key's jobs may hold or be charged over any rolling 24 hours (`SpendLimit`); nil: no limit.
    public var spendLimitDaily: Int?
    public init(
        id: String, accountID: String, environment: KeyEnvironment, name: String?, prefix: String, hash: String, createdAt: Date,
        revokedAt: Date?, spendLimitDaily: Int? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.environment = environment
        self.name = name
        self.prefix = prefix
        self.hash = hash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.spendLimitDaily = spendLimitDaily
    }
}

/// The shape of key secrets: `vg_live_` or `vg_test_` and 32 or more base62 characters.
public enum KeyFormat {
    public static let secretLength = 40

    /// A new secret for an environment.
    public static func newSecret(_ environment: KeyEnvironment) -> String {
        "vg_\(environment.rawValue)_" + Identifier.randomBase62(secretLength)
    }

    /// The environment a well-formed secret names, or nil when it is malformed.
    public static func environment(of secret: String) -> KeyEnvironment? {
        let environment: KeyEnvironment
        if secret.hasPrefix("vg_live_") {
            environment = .live
        } else if secret.hasPrefix("vg_test_") {
            environment = .test
        } else {
            return nil
        }
        let body = secret.utf8.dropFirst(8)
        guard body.count >= 32, body.count <= 128,
            body.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
        else { return nil }
        return environment
    }
}

/// An account's daily request limit at one instant, for one key.
public struct QuotaStatus: Sendable, Equatable {
    public var limit: Int
    public var used: Int
    /// When the oldest counted request leaves the window (now, when none is counted).
    public var resetAt: Date
    public init(limit: Int, used: Int, resetAt: Date) {
        self.limit = limit
        self.used = used
        self.resetAt = resetAt
    }
    public var remaining: Int { max(0, limit - used) }
    public var isExhausted: Bool { used >= limit }
}

/// The rolling 24-hour window, counted in one-minute buckets: a request counts from its minute
/// until 24 hours after the end of that minute, so no 24-hour span ever holds more than the limit.
public enum QuotaWindow {
    public static let bucketSeconds: Int64 = 60
    public static let windowBuckets: Int64 = 24 * 60

    public static func bucket(for date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / Double(bucketSeconds)).rounded(.down))
    }

    /// The first bucket still inside the window at `now`.
    public static func firstBucket(at now: Date) -> Int64 {
        bucket(for: now) - windowBuckets + 1
    }

    /// When a request counted in `bucket` stops counting.
    public static func expiry(ofBucket bucket: Int64) -> Date {
        Date(timeIntervalSince1970: Double((bucket + windowBuckets) * bucketSeconds))
    }
}

/// Where "now" comes from; tests use a manual clock.
public protocol WallClock: Sendable {
    func now() -> Date
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}
