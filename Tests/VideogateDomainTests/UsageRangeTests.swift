import Foundation
import Testing
@testable import VideogateDomain

@Suite("Usage ranges: query bounds and the rollup's exact edges")
struct UsageRangeTests {
    /// 2027-01-15T08:00:00Z.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let day: Int64 = 86_400_000

    static func millis(_ text: String) -> Int64 {
        Int64((try! Date(text, strategy: .iso8601).timeIntervalSince1970 * 1000).rounded())
    }

    @Test func defaultsAreTheLastThirtyDaysUpToNow() throws {
        let range = try UsageRange.parse(from: nil, to: nil, now: Self.now)
        #expect(range.toMillis == 1_800_000_000_000)
        #expect(range.fromMillis == 1_800_000_000_000 - 30 * Self.day)
    }

    @Test func aDateAsToMeansTheEndOfThatDay() throws {
        let range = try UsageRange.parse(from: "2026-11-01", to: "2026-11-30", now: Self.now)
        #expect(range.fromMillis == Self.millis("2026-11-01T00:00:00Z"))
        #expect(range.toMillis == Self.millis("2026-12-01T00:00:00Z"))
    }

    @Test func dateTimesKeepOffsetsAndMilliseconds() throws {
        let range = try UsageRange.parse(from: "2026-11-01T10:15:30.1239+02:00", to: "2026-11-02t00:00:00z", now: Self.now)
        #expect(range.fromMillis == Self.millis("2026-11-01T08:15:30Z") + 123)
        #expect(range.toMillis == Self.millis("2026-11-02T00:00:00Z"))
        let negative = try UsageRange.parse(from: "2026-11-01T00:00:00-05:30", to: nil, now: Self.now)
        #expect(negative.fromMillis == Self.millis("2026-11-01T05:30:00Z"))
    }

    @Test func onlyToGivenCoversThirtyDaysBeforeIt() throws {
        let range = try UsageRange.parse(from: nil, to: "2026-06-30", now: Self.now)
        #expect(range.toMillis == Self.millis("2026-07-01T00:00:00Z"))
        #expect(range.toMillis - range.fromMillis == 30 * Self.day)
    }

    @Test func aLeapYearFitsAndOneDayMoreDoesNot() throws {
        _ = try UsageRange.parse(from: "2028-01-01", to: "2028-12-31", now: Self.now)
        #expect(throws: GatewayError.self) { try UsageRange.parse(from: "2027-12-31", to: "2028-12-31", now: Self.now) }
    }

    static let malformed = [
        "", "2026-13-01", "2026-02-30", "2026-1-01", "20261101", "2026-11-01T00:00:00", "2026-11-01T24:00:00Z",
        "2026-11-01T00:60:00Z", "2026-11-01T00:00:60Z", "2026-11-01T00:00:00.Z", "2026-11-01T00:00:00+0200",
        "2026-11-01T00:00:00+24:00", "2026-11-01 00:00:00Z", "2026-11-01T00:00:00Zjunk", "yesterday", "1800000000",
    ]

    @Test(arguments: malformed)
    func malformedBoundsAreInvalidParameters(text: String) {
        for param in ["from", "to"] {
            do {
                _ = try UsageRange.parse(from: param == "from" ? text : nil, to: param == "to" ? text : nil, now: Self.now)
                Issue.record("\(text) was accepted as \(param)")
            } catch {
                #expect(error.code == .invalidParameter && error.param == param)
            }
        }
    }

    @Test func fromMustBeBeforeTo() {
        #expect(throws: GatewayError(.invalidParameter, "from must be before to.", param: "from")) {
            try UsageRange.parse(from: "2026-11-02T00:00:00Z", to: "2026-11-02T00:00:00Z", now: Self.now)
        }
        #expect(throws: GatewayError.self) { try UsageRange.parse(from: "2027-02-01", to: nil, now: Self.now) }
    }

    @Test func aSplitReadsWholeDaysThenWholeHoursThenJobs() {
        let hour = UsageSplit.hourMillis
        let day = UsageSplit.dayMillis
        let from: Int64 = 10 * day + 5 * hour + 1
        let to: Int64 = 20 * day + 3 * hour - 1
        let split = UsageSplit(fromMillis: from, toMillis: to)
        #expect(split.days == 11..<20)
        let hours: [Range<Int64>] = [246..<264, 480..<482]
        #expect(split.hours == hours)
        let edges: [Range<Int64>] = [from..<from - 1 + hour, to + 1 - hour..<to]
        #expect(split.edges == edges)
        let aligned = UsageSplit(fromMillis: 10 * day, toMillis: 20 * day)
        #expect(aligned.days == 10..<20 && aligned.hours.isEmpty && aligned.edges.isEmpty)
        let withinADay = UsageSplit(fromMillis: 10 * hour, toMillis: 20 * hour + 7)
        let tail: Range<Int64> = 20 * hour..<20 * hour + 7
        #expect(withinADay.days.isEmpty && withinADay.hours == [10..<20] && withinADay.edges == [tail])
        let inside = UsageSplit(fromMillis: 10 * hour + 5, toMillis: 11 * hour + 5)
        #expect(inside.days.isEmpty && inside.hours.isEmpty && inside.edges == [10 * hour + 5..<11 * hour + 5])
    }

    @Test func idBoundsOrderLikeCreationTimes() {
        let at = Date(timeIntervalSince1970: 1_800_000_000.0005)
        let millis = Int64(1_800_000_000_000)
        let id = Identifier.make("req", at: at)
        #expect(Identifier.lowerBound("req", atMillis: millis) <= id)
        #expect(id < Identifier.lowerBound("req", atMillis: millis + 1))
        #expect(UsageGrouping.dayLabel(millis / Self.day) == "2027-01-15")
    }
}
