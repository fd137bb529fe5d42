import Foundation
import VideogateDomain

/// A bar chart as numbers a template draws as SVG (`usage.mustache`): the geometry is computed
/// here, the markup stays in the template. Every chart also carries its figures as a table.
struct BarChart {
    struct Bar {
        let label: String
        let value: Int
        let x: Int
        let y: Int
        let width: Int
        let height: Int
        let labelX: Int
        let showLabel: Bool
    }

    let title: String
    let unit: String
    let bars: [Bar]
    let width: Int
    let height: Int
    let maximum: Int

    static let plotHeight = 160
    static let top = 10

    /// Vertical bars, one per `(label, value)`, scaled to the largest value; with many bars only
    /// every n-th label is drawn (all are in the table).
    init(title: String, unit: String, points: [(String, Int)]) {
        self.title = title
        self.unit = unit
        let maximum = max(points.map(\.1).max() ?? 0, 1)
        self.maximum = maximum
        let slot = max(8, min(48, 720 / max(points.count, 1)))
        let every = max(1, Int((Double(points.count) * 40 / 720).rounded(.up)))
        self.bars = points.enumerated().map { index, point in
            let height = Int((Double(point.1) / Double(maximum) * Double(Self.plotHeight)).rounded())
            return Bar(
                label: point.0, value: point.1, x: 40 + index * slot + 1, y: Self.top + Self.plotHeight - height, width: slot - 2,
                height: height, labelX: 40 + index * slot + slot / 2, showLabel: index % every == 0)
        }
        self.width = 40 + points.count * slot + 70
        self.height = Self.top + Self.plotHeight + 100
    }

    var context: [String: Any] {
        [
            "title": title, "unit": unit, "width": width, "height": height, "maximum": maximum, "baseline": Self.top + Self.plotHeight,
            "labelY": Self.top + Self.plotHeight + 14, "top": Self.top + 4, "right": width - 70,
            "summary": "\(title): " + bars.map { "\($0.label) \($0.value)" }.joined(separator: ", "),
            "bars": bars.map { bar -> [String: Any] in
                [
                    "label": bar.label, "value": bar.value, "x": bar.x, "y": bar.y, "width": bar.width, "height": bar.height,
                    "labelX": bar.labelX, "showLabel": bar.showLabel,
                ]
            },
            "empty": bars.allSatisfy { $0.value == 0 },
        ]
    }

    /// One point per UTC day of `range` (days without jobs count 0), from `rows` grouped by day.
    static func daily(_ rows: [UsageRow], range: UsageRange, value: (UsageRow) -> Int) -> [(String, Int)] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let formatter = DateFormatter()
        formatter.calendar = calendar
        formatter.timeZone = calendar.timeZone
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd"
        let byDay = Dictionary(rows.map { ($0.group, value($0)) }, uniquingKeysWith: +)
        var points: [(String, Int)] = []
        var day = calendar.startOfDay(for: range.from)
        while day < range.to && points.count < 400 {
            let label = formatter.string(from: day)
            points.append((label, byDay[label] ?? 0))
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        return points
    }
}
