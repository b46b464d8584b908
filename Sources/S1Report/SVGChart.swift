import S1Storage
import S1Common
import S1JSON
import S1Model
/// Inline SVG bar charts for the HTML report: no scripts, no external assets, each bar with a
/// `<title>` tooltip carrying its exact value.
package enum SVGChart {
    /// One bar.
    package struct Bar {
        package let label: String
        package let value: Double
    }

    /// One stacked bar: its segments in `segmentNames` order.
    package struct Stack {
        package let label: String
        package let segments: [Double]
    }

    package static let labelWidth = 170.0
    package static let width = 720.0

    /// Vertical bars over time (or any ordered labels), with a value axis.
    package static func columns(_ bars: [Bar], color: String, unit: String) -> String {
        guard !bars.isEmpty else { return empty }
        let height = 240.0, left = 48.0, right = 40.0, bottom = 36.0, top = 12.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let largest = bars.map(\.value).max() ?? 0
        let tickStep = max(1, niceCeiling(largest / 4))
        let ticks = max(1, Int((largest / tickStep).rounded(.up)))
        let maxValue = tickStep * Double(ticks)
        let step = plotWidth / Double(bars.count)
        let barWidth = max(1, step * 0.8)
        var svg = open(height: height, label: "bar chart of \(unit) per day")
        for tick in 0...ticks {
            let value = tickStep * Double(tick)
            let y = top + plotHeight - plotHeight * Double(tick) / Double(ticks)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(width - right))\" y2=\"\(f(y))\" class=\"grid\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"axis\">\(format(value))</text>"
        }
        let labelEvery = max(1, Int((Double(bars.count) / 8).rounded(.up)))
        for (index, bar) in bars.enumerated() {
            let barHeight = maxValue > 0 ? plotHeight * bar.value / maxValue : 0
            let x = left + Double(index) * step + (step - barWidth) / 2
            svg += "<rect x=\"\(f(x))\" y=\"\(f(top + plotHeight - barHeight))\" width=\"\(f(barWidth))\" height=\"\(f(barHeight))\" fill=\"\(color)\">"
            svg += "<title>\(escaped(bar.label)): \(format(bar.value)) \(escaped(unit))</title></rect>"
            if index % labelEvery == 0 {
                svg += "<text x=\"\(f(x + barWidth / 2))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\" class=\"axis\">\(escaped(bar.label))</text>"
            }
        }
        return svg + "</svg>"
    }

    /// Horizontal bars, largest first as given, with the value at the end of each bar.
    package static func bars(_ bars: [Bar], color: String, unit: String) -> String {
        guard !bars.isEmpty else { return empty }
        let rowHeight = 26.0
        let height = rowHeight * Double(bars.count) + 8
        let plotWidth = width - labelWidth - 70
        let maxValue = bars.map(\.value).max() ?? 0
        var svg = open(height: height, label: "bar chart of \(unit)")
        for (index, bar) in bars.enumerated() {
            let y = 4 + Double(index) * rowHeight
            let length = maxValue > 0 ? max(1, plotWidth * bar.value / maxValue) : 0
            svg += "<text x=\"\(f(labelWidth - 8))\" y=\"\(f(y + 17))\" text-anchor=\"end\" class=\"label\">\(escaped(clip(bar.label)))</text>"
            svg += "<rect x=\"\(f(labelWidth))\" y=\"\(f(y + 3))\" width=\"\(f(length))\" height=\"\(f(rowHeight - 8))\" rx=\"3\" fill=\"\(color)\">"
            svg += "<title>\(escaped(bar.label)): \(format(bar.value)) \(escaped(unit))</title></rect>"
            svg += "<text x=\"\(f(labelWidth + length + 6))\" y=\"\(f(y + 17))\" class=\"value\">\(format(bar.value))</text>"
        }
        return svg + "</svg>"
    }

    /// Horizontal stacked bars (each scaled to the largest total) with a legend. Each bar ends
    /// with its total and, with `labelledSegment`, that segment's count and name
    /// ("3,000 · 325 failed"), so the figure that matters can be read without hovering.
    package static func stacks(_ stacks: [Stack], segmentNames: [String], colors: [String], labelledSegment: Int? = nil) -> String {
        guard !stacks.isEmpty else { return empty }
        let rowHeight = 26.0, legendHeight = 28.0
        let height = legendHeight + rowHeight * Double(stacks.count) + 8
        let plotWidth = width - labelWidth - (labelledSegment == nil ? 70 : 150)
        let maxTotal = stacks.map { $0.segments.reduce(0, +) }.max() ?? 0
        var svg = open(height: height, label: "stacked bar chart of \(segmentNames.joined(separator: ", "))")
        var legendX = labelWidth
        for (index, name) in segmentNames.enumerated() {
            svg += "<rect x=\"\(f(legendX))\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"\(colors[index])\"/>"
            svg += "<text x=\"\(f(legendX + 17))\" y=\"17\" class=\"label\">\(escaped(name))</text>"
            legendX += 24 + Double(name.count) * 8
        }
        for (row, stack) in stacks.enumerated() {
            let y = legendHeight + Double(row) * rowHeight
            let total = stack.segments.reduce(0, +)
            svg += "<text x=\"\(f(labelWidth - 8))\" y=\"\(f(y + 17))\" text-anchor=\"end\" class=\"label\">\(escaped(clip(stack.label)))</text>"
            var x = labelWidth
            for (index, value) in stack.segments.enumerated() where value > 0 {
                let length = maxTotal > 0 ? plotWidth * value / maxTotal : 0
                let percent = total > 0 ? 100 * value / total : 0
                svg += "<rect x=\"\(f(x))\" y=\"\(f(y + 3))\" width=\"\(f(length))\" height=\"\(f(rowHeight - 8))\" fill=\"\(colors[index])\">"
                svg += "<title>\(escaped(stack.label)) \(escaped(segmentNames[index])): \(format(value)) (\(String(format1: percent))%)</title></rect>"
                x += length
            }
            var label = format(total)
            if let segment = labelledSegment, segment < stack.segments.count, segment < segmentNames.count {
                label += " · \(format(stack.segments[segment])) \(segmentNames[segment])"
            }
            svg += "<text x=\"\(f(x + 6))\" y=\"\(f(y + 17))\" class=\"value\">\(escaped(label))</text>"
        }
        return svg + "</svg>"
    }

    // MARK: Helpers

    package static let empty = "<p class=\"empty\">No data for this selection.</p>"

    package static func open(height: Double, label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"100%\" role=\"img\" aria-label=\"\(escaped(label))\">"
    }

    package static func clip(_ label: String) -> String { label.count > 22 ? String(label.prefix(21)) + "…" : label }

    /// The smallest "nice" number (1, 2, 2.5, 5 × 10^n) at or above `value`.
    package static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where magnitude * factor >= value { return magnitude * factor }
        return magnitude * 10
    }

    package static func f(_ value: Double) -> String { String(format1: value) }

    /// Whole numbers without decimals and with thousands separators (12,345), others with one decimal.
    package static func format(_ value: Double) -> String {
        guard value == value.rounded() && abs(value) < 1e15 else { return String(format1: value) }
        let digits = String(Int64(abs(value)))
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }
}

extension String {
    /// `value` with one decimal, without Foundation.
    package init(format1 value: Double) {
        let scaled = (value * 10).rounded()
        let whole = Int64(scaled / 10)
        let tenth = Int64(abs(scaled).truncatingRemainder(dividingBy: 10))
        let sign = scaled < 0 && whole == 0 ? "-" : ""
        self = "\(sign)\(whole).\(tenth)"
    }
}

/// `text` with `&` `<` `>` `"` escaped for HTML/XML text and attributes.
package func escaped(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case let control where control.asciiValue.map({ $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) == true:
            result += " "  // not allowed in XML
        default: result.append(character)
        }
    }
    return result
}
