import Foundation
import VideogateDomain

/// The answer of `/v1/usage` and `/admin/usage`: the range it covers (defaults resolved) and one
/// row per group, in ascending order of the group.
struct UsageReport: Encodable {
    let rows: [UsageRow]
    let range: UsageRange
    let grouping: UsageGrouping

    enum CodingKeys: String, CodingKey {
        case success, data, from, to
        case groupBy = "group_by"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(true, forKey: .success)
        try container.encode(Self.time(range.fromMillis), forKey: .from)
        try container.encode(Self.time(range.toMillis), forKey: .to)
        try container.encode(grouping.rawValue, forKey: .groupBy)
        try container.encode(rows.map { UsageRowView(row: $0, field: grouping.field) }, forKey: .data)
    }

    /// RFC 3339 UTC, with milliseconds only when the bound has some.
    static func time(_ millis: Int64) -> String {
        let seconds = Date(timeIntervalSince1970: Double(millis.quotientAndRemainder(dividingBy: 1000).quotient)).rfc3339
        let fraction = ((millis % 1000) + 1000) % 1000
        guard fraction != 0, seconds.hasSuffix("Z") else { return seconds }
        return String(seconds.dropLast()) + String(format: ".%03dZ", Int(fraction))
    }
}

/// One row: the group under its field name (`day`, `model`, `key_id` or `account_id`) and the figures.
struct UsageRowView: Encodable {
    let row: UsageRow
    let field: String

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ stringValue: String) { self.stringValue = stringValue }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(row.group, forKey: Key(field))
        try container.encode(row.jobs, forKey: Key("jobs"))
        try container.encode(row.completed, forKey: Key("completed"))
        try container.encode(row.failed, forKey: Key("failed"))
        try container.encode(row.creditsCharged, forKey: Key("credits_charged"))
        try container.encode(row.secondsRendered, forKey: Key("seconds_rendered"))
    }
}
