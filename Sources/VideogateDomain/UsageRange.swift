import Foundation

/// The creation times a usage report covers: `[from, to)`, in whole milliseconds since 1970 (as
/// the stores keep times).
public struct UsageRange: Sendable, Equatable {
    /// First included millisecond.
    public var fromMillis: Int64
    /// First excluded millisecond.
    public var toMillis: Int64

    /// The default span when `from` is absent.
    public static let defaultSpan: TimeInterval = 30 * 86_400
    /// The longest span a report may cover.
    public static let maxSpan: TimeInterval = 366 * 86_400

    public init(fromMillis: Int64, toMillis: Int64) {
        self.fromMillis = fromMillis
        self.toMillis = toMillis
    }

    /// The range between two instants, each taken to the millisecond below.
    public init(from: Date, to: Date) {
        self.init(fromMillis: Self.millis(from), toMillis: Self.millis(to))
    }

    public var from: Date { Date(timeIntervalSince1970: Double(fromMillis) / 1000) }
    public var to: Date { Date(timeIntervalSince1970: Double(toMillis) / 1000) }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    /// The range of the `from` and `to` query parameters, each an RFC 3339 date-time
    /// (`2026-11-01T00:00:00Z`, any offset, optional fraction) or a `YYYY-MM-DD` UTC date. A date as
    /// `from` means the start of that day; as `to`, the end of that day (the start of the next, excluded).
    /// `to` defaults to `now`, `from` to 30 days before `to`. Fractions below a millisecond are dropped.
    /// Throws 400 `invalid_parameter` for a malformed bound, `from` not before `to`, or more than 366 days.
    public static func parse(from fromText: String?, to toText: String?, now: Date) throws(GatewayError) -> UsageRange {
        let to = try toText.map { text throws(GatewayError) in try bound(text, param: "to", endOfDay: true) } ?? millis(now)
        let from = try fromText.map { text throws(GatewayError) in try bound(text, param: "from", endOfDay: false) }
            ?? to - Int64(defaultSpan) * 1000
        guard from < to else {
            throw GatewayError(.invalidParameter, "from must be before to.", param: "from")
        }
        guard to - from <= Int64(maxSpan) * 1000 else {
            throw GatewayError(.invalidParameter, "from and to must be at most 366 days apart.", param: "to")
        }
        return UsageRange(fromMillis: from, toMillis: to)
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    private static func bound(_ text: String, param: String, endOfDay: Bool) throws(GatewayError) -> Int64 {
        let bytes = Array(text.utf8)
        let value: Int64?
        if bytes.count == 10 {
            value = day(bytes).map { endOfDay ? $0 + 86_400_000 : $0 }
        } else {
            value = dateTime(bytes)
        }
        guard let value else {
            throw GatewayError(
                .invalidParameter, "\(param) must be an RFC 3339 date-time (2026-11-01T00:00:00Z) or a date (2026-11-01).", param: param)
        }
        return value
    }

    /// `YYYY-MM-DD`, a real calendar day, as its UTC midnight in milliseconds.
    private static func day(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(bytes, 0, 4), let month = number(bytes, 5, 2), let day = number(bytes, 8, 2),
            (1...12).contains(month), day >= 1
        else { return nil }
        let components = DateComponents(year: year, month: month, day: day)
        guard let date = utc.date(from: components), utc.component(.day, from: date) == day else { return nil }
        return Int64(date.timeIntervalSince1970.rounded()) * 1000
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`, `z` allowed, as RFC 3339 says).
    /// Digits of the fraction beyond milliseconds are dropped.
    private static func dateTime(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count >= 20, let midnight = day(bytes), bytes[10] | 0x20 == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let hour = number(bytes, 11, 2), let minute = number(bytes, 14, 2), let second = number(bytes, 17, 2),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100
            let start = index
            while index < bytes.count, let digit = digit(bytes[index]) {
                fraction += Int64(digit) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        var offset = 0
        if bytes[index] | 0x20 == UInt8(ascii: "z") {
            index += 1
        } else {
            let sign = bytes[index]
            guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                let hours = number(bytes, index + 1, 2), let minutes = number(bytes, index + 4, 2), hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 60 + minutes) * 60 * (sign == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        }
        guard index == bytes.count else { return nil }
        return midnight + Int64(hour * 3600 + minute * 60 + second - offset) * 1000 + fraction
    }

    private static func number(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int? {
        guard start + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[start..<start + count] {
            guard let digit = digit(byte) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    private static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }
}
