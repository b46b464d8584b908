import S1Common
import S1JSON
/// Exact (integer) conversions between ISO-8601 text and microseconds since 1970, so that
/// timestamps from query parameters and from bodies compare as times, not as text.
enum TimestampText {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`; `T` may also be `t` or a
    /// space, `Z` may be `z`; a date alone (`YYYY-MM-DD`) means midnight UTC. Digits beyond
    /// microseconds are dropped. Nil when it is anything else.
    static func parse(_ text: Substring) -> Int64? {
        // The product's own grammar (S1Common): the mock reads times as s1ingest does.
        var text = String(text)
        if text.utf8.count == 10 { text += "T00:00:00Z" }
        guard let normalized = normalizedTimestamp(text), let seconds = wholeSecondsSince1970(normalized),
              let micros = Int64(String(normalized.dropFirst(20).prefix(6)))
        else { return nil }
        return seconds * 1_000_000 + micros
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as the console and ``SyntheticAnalyses`` write them.
    static func format(micros: Int64) -> String {
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 { fraction += 1_000_000; seconds -= 1 }
        let civil = civilFromSeconds(seconds)
        return "\(pad(civil.year, 4))-\(pad(civil.month, 2))-\(pad(civil.day, 2))T\(pad(civil.hour, 2)):"
            + "\(pad(civil.minute, 2)):\(pad(civil.second, 2)).\(pad(fraction, 6))Z"
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for HTTP headers.
    static func httpDate(secondsSince1970 seconds: Int64) -> String {
        let civil = civilFromSeconds(seconds)
        var days = seconds / 86_400
        if seconds % 86_400 < 0 { days -= 1 }
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
        let weekday = weekdays[Int(((days % 7) + 7) % 7)]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(weekday), \(pad(civil.day, 2)) \(months[Int(civil.month) - 1]) \(pad(civil.year, 4)) "
            + "\(pad(civil.hour, 2)):\(pad(civil.minute, 2)):\(pad(civil.second, 2)) GMT"
    }

    // MARK: Calendar arithmetic (the core's, Howard Hinnant's algorithms)

    static func civilFromSeconds(_ seconds: Int64)
        -> (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64)
    {
        civilTime(secondsSince1970: seconds)
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
