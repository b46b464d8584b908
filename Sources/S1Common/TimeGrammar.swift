/// The one grammar for every date, time and duration a person types (`sync --since`,
/// `sync --overlap`, `report --since`, `prune --older-than`): each command parses its option
/// here, so `7d`, `+02:00` and `2026-13-45` mean (or are refused) the same everywhere.
///
/// - A **duration** is a whole number and a unit: `s` (seconds), `min` (minutes), `h`,
///   `d`, `w` (7 days). `30m` is refused as ambiguous (minutes or months?), with the
///   spelling to use instead; there are no months or years (their length varies).
/// - A **time** is ISO-8601: `YYYY-MM-DD` (midnight UTC), or `YYYY-MM-DDTHH:MM[:SS[.fraction]]`
///   followed by `Z`, an offset (`+02:00`, `-0530`) or nothing (UTC). The calendar is
///   checked: `2023-13-01`, `2026-02-30` and `24:00` are refused.
public enum TimeGrammar {
    /// Why a text is not a duration or time; `description` says what to write instead.
    public struct ParseError: Error, CustomStringConvertible, Sendable, Equatable {
        public let description: String
    }

    /// The durations a message offers as examples.
    public static let durationExamples = "30s, 15min, 24h, 7d, 2w"
    /// The times a message offers as examples.
    public static let timeExamples = "2026-01-31, 2026-01-31T08:00:00Z, 2026-01-31T10:00:00+02:00"

    /// `text` as a duration in seconds (greater than zero).
    public static func durationSeconds(_ text: String) throws(ParseError) -> Int64 {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        guard !digits.isEmpty else {
            throw ParseError(description: "'\(text)' is not a duration: write a whole number and a unit, e.g. \(durationExamples)")
        }
        let scale: Int64
        switch unit {
        case "s": scale = 1
        case "min": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        case "w": scale = 7 * 86_400
        case "m", "M":
            throw ParseError(description: "'\(text)' is ambiguous (minutes or months?): write \(digits)min for minutes, or days such as \(digits)d")
        case "":
            throw ParseError(description: "'\(text)' has no unit: write e.g. \(digits)s, \(digits)min, \(digits)h, \(digits)d or \(digits)w")
        default:
            throw ParseError(description: "'\(text)' is not a duration: the units are s, min, h, d and w (e.g. \(durationExamples))")
        }
        guard let value = Int64(digits), value > 0 else {
            throw ParseError(description: "'\(text)' is not a duration: it must be greater than zero")
        }
        guard value <= Int64.max / scale / 2 else {
            throw ParseError(description: "'\(text)' is too long a duration")
        }
        return value * scale
    }

    /// `text` as a UTC timestamp in the stored form (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, six
    /// fractional digits), so that text comparison with stored timestamps is time comparison.
    public static func timestamp(_ text: String) throws(ParseError) -> String {
        let bytes = Array(text.utf8)
        func fail(_ why: String) -> ParseError {
            ParseError(description: "'\(text)' is not a valid time: \(why) (write e.g. \(timeExamples))")
        }
        var index = 0
        func number(_ width: Int) -> Int64? {
            guard index + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index ..< index + width] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
        func take(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), take("-"), let month = number(2), take("-"), let day = number(2) else {
            throw fail("a date is YYYY-MM-DD")
        }
        guard (1 ... 12).contains(month) else { throw fail("there is no month \(month)") }
        guard (1 ... daysIn(month: month, year: year)).contains(day) else { throw fail("month \(month) of \(year) has no day \(day)") }
        var (hour, minute, second): (Int64, Int64, Int64) = (0, 0, 0)
        var fraction = ""
        var offsetMinutes: Int64 = 0
        if index < bytes.count {
            guard take("Tt "), let h = number(2), take(":"), let m = number(2) else { throw fail("a time of day is THH:MM[:SS]") }
            (hour, minute) = (h, m)
            if take(":") {
                guard let s = number(2) else { throw fail("seconds are two digits") }
                second = s
                if take(".,") {
                    while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                        if fraction.count < 6 { fraction.append(Character(UnicodeScalar(bytes[index]))) }
                        index += 1
                    }
                    guard !fraction.isEmpty else { throw fail("a fraction of a second needs digits") }
                }
            }
            guard hour < 24, minute < 60, second < 60 else { throw fail("\(hour):\(minute):\(second) is not a time of day") }
            if take("Zz") {
            } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard let offsetHours = number(2) else { throw fail("an offset is +HH:MM or -HH:MM") }
                _ = take(":")
                guard let offsetMins = number(2), offsetHours < 24, offsetMins < 60 else { throw fail("an offset is +HH:MM or -HH:MM") }
                offsetMinutes = sign * (offsetHours * 60 + offsetMins)
            }
            guard index == bytes.count else { throw fail("unexpected '\(String(decoding: bytes[index...], as: UTF8.self))'") }
        }
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
            - offsetMinutes * 60
        let utc = civilTime(secondsSince1970: seconds)
        guard (0 ... 9999).contains(utc.year) else { throw fail("the year is out of range") }
        let whole = formatTimestamp(secondsSince1970: Double(seconds))
        return String(whole.prefix(20)) + fraction + String(repeating: "0", count: 6 - fraction.count) + "Z"
    }

    /// A lower bound on time: a duration counted back from `now` (seconds since 1970), or a
    /// time; the result in the stored form.
    public static func since(_ text: String, now: Double) throws(ParseError) -> String {
        try parseSince(text).timestamp(now: now)
    }

    /// A duration or a time, for options that take either (`--since`).
    public static func parseSince(_ text: String) throws(ParseError) -> SyncStart {
        let bytes = Array(text.utf8)
        if bytes.count >= 5, bytes[4] == UInt8(ascii: "-") { return .timestamp(try timestamp(text)) }
        if let first = bytes.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") {
            return .window(seconds: try durationSeconds(text))
        }
        throw ParseError(description: "'\(text)' is neither a duration (\(durationExamples)) nor a time (\(timeExamples))")
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
