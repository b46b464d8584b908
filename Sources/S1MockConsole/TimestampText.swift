import S1Common
import S1JSON
/// Exact (integer) conversions between ISO-8601 text and microseconds since 1970, so that
/// timestamps from query parameters and from bodies compare as times, not as text.
enum TimestampText {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`; `T` may also be `t` or a
    /// space, `Z` may be `z`; a date alone (`YYYY-MM-DD`) means midnight UTC. Digits beyond
    /// microseconds are dropped. Nil when it is anything else.
    static func parse(_ text: Substring) -> Int64? {
        let bytes = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for index in start..<(start + count) {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard let year = digits(0, 4), bytes.count >= 10, bytes[4] == UInt8(ascii: "-"),
              let month = digits(5, 2), bytes[7] == UInt8(ascii: "-"), let day = digits(8, 2),
              (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let days = S1Common.daysFromCivil(year: year, month: month, day: day)
        if bytes.count == 10 { return days * 86_400_000_000 }
        guard bytes.count >= 20,
              [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[10]),
              let hour = digits(11, 2), bytes[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
              bytes[16] == UInt8(ascii: ":"), let second = digits(17, 2),
              hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var micros: Int64 = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var places = 0
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
                if places < 6 { micros = micros * 10 + Int64(bytes[index] - UInt8(ascii: "0")); places += 1 }
                index += 1
            }
            guard places > 0 else { return nil }
            while places < 6 { micros *= 10; places += 1 }
        }
        var offsetSeconds: Int64 = 0
        let rest = bytes[index...]
        if rest.elementsEqual("Z".utf8) || rest.elementsEqual("z".utf8) {
            offsetSeconds = 0
        } else if let sign = rest.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            let zone = Array(rest.dropFirst())
            let compact: [UInt8]
            if zone.count == 5, zone[2] == UInt8(ascii: ":") { compact = Array(zone[0..<2] + zone[3..<5]) }
            else if zone.count == 4 { compact = zone }
            else { return nil }
            var value: Int64 = 0
            for byte in compact {
                let digit = byte &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            offsetSeconds = (value / 100) * 3600 + (value % 100) * 60
            if sign == UInt8(ascii: "-") { offsetSeconds = -offsetSeconds }
        } else {
            return nil
        }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
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
