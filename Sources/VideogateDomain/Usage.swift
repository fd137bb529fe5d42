import Foundation

/// How `/v1/usage` and `/admin/usage` group their figures.
public enum UsageGrouping: String, Sendable, CaseIterable {
    /// By UTC day of the jobs' creation.
    case day
    /// By model id.
    case model
    /// By API key id.
    case key
    /// By account id (admin only).
    case account

    /// The groupings `/v1/usage` offers (an account sees only itself).
    public static let forAccounts: [UsageGrouping] = [.day, .model, .key]

    /// The field that names a row's group in the JSON answer.
    public var field: String {
        switch self {
        case .day: "day"
        case .model: "model"
        case .key: "key_id"
        case .account: "account_id"
        }
    }

    /// `YYYY-MM-DD` of a UTC day counted from 1970-01-01 (day 0).
    public static func dayLabel(_ day: Int64) -> String {
        let components = UsageRange.utc.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(day) * 86_400))
        let year = components.year ?? 1970
        let month = components.month ?? 1
        let dayOfMonth = components.day ?? 1
        return String(format: "%04d-%02d-%02d", year, month, dayOfMonth)
    }
}

/// What a usage report covers: one account or all, one environment or both, jobs created in
/// `range`, grouped by `grouping`.
public struct UsageQuery: Sendable, Equatable {
    public var accountID: String?
    public var environment: KeyEnvironment?
    public var range: UsageRange
    public var grouping: UsageGrouping
    public init(accountID: String?, environment: KeyEnvironment?, range: UsageRange, grouping: UsageGrouping) {
        self.accountID = accountID
        self.environment = environment
        self.range = range
        self.grouping = grouping
    }
}

/// The figures of one group: jobs created in the range, and of those how many ended and what they cost.
public struct UsageRow: Sendable, Equatable {
    /// The group: a `YYYY-MM-DD` day, a model id, a key id or an account id.
    public var group: String
    /// Jobs created in the range (each holds its price at creation).
    public var jobs: Int
    /// Of those, the ones that ended `completed` (each captured its hold).
    public var completed: Int
    /// Of those, the ones that ended in `error` (each released its hold).
    public var failed: Int
    /// The sum of the capture entries of those jobs, in credits.
    public var creditsCharged: Int
    /// The requested durations of the completed ones, in seconds.
    public var secondsRendered: Int
    public init(group: String, jobs: Int, completed: Int, failed: Int, creditsCharged: Int, secondsRendered: Int) {
        self.group = group
        self.jobs = jobs
        self.completed = completed
        self.failed = failed
        self.creditsCharged = creditsCharged
        self.secondsRendered = secondsRendered
    }
}

/// Where a usage report reads each part of `[from, to)`, so that any millisecond bounds are exact
/// and the work grows with the days covered, not with the jobs: whole UTC days from the daily
/// rollup, whole hours left at either end from the hourly rollup, and the parts of hours left at
/// either end from the jobs created in them.
public struct UsageSplit: Sendable, Equatable {
    public static let hourMillis: Int64 = 3_600_000
    public static let dayMillis: Int64 = 86_400_000

    /// Whole days (day numbers since 1970) read from the daily rollup; empty when there are none.
    public var days: Range<Int64>
    /// Whole hours (hour numbers since 1970) read from the hourly rollup; at most two, none empty.
    public var hours: [Range<Int64>]
    /// Millisecond ranges of creation times read from the jobs; at most two, none empty.
    public var edges: [Range<Int64>]

    /// Splits `[from, to)` in milliseconds since 1970.
    public init(fromMillis from: Int64, toMillis to: Int64) {
        let firstDay = Self.ceilDiv(from, Self.dayMillis)
        let endDay = Self.floorDiv(to, Self.dayMillis)
        var rest: [Range<Int64>] = []
        if firstDay < endDay {
            days = firstDay..<endDay
            rest = [from..<firstDay * Self.dayMillis, endDay * Self.dayMillis..<to]
        } else {
            days = 0..<0
            rest = from < to ? [from..<to] : []
        }
        hours = []
        edges = []
        for part in rest where !part.isEmpty {
            let firstHour = Self.ceilDiv(part.lowerBound, Self.hourMillis)
            let endHour = Self.floorDiv(part.upperBound, Self.hourMillis)
            if firstHour < endHour {
                hours.append(firstHour..<endHour)
                edges += [part.lowerBound..<firstHour * Self.hourMillis, endHour * Self.hourMillis..<part.upperBound].filter { !$0.isEmpty }
            } else {
                edges.append(part)
            }
        }
    }

    /// The hour number of a time in milliseconds since 1970.
    public static func hour(ofMillis millis: Int64) -> Int64 { floorDiv(millis, hourMillis) }
    /// The day number of a time in milliseconds since 1970.
    public static func day(ofMillis millis: Int64) -> Int64 { floorDiv(millis, dayMillis) }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
    static func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { -floorDiv(-a, b) }
}
