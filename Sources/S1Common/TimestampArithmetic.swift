/// `text` (an ISO-8601 UTC timestamp, normalised as the database stores it) moved `seconds`
/// earlier, its fraction kept digit for digit; nil when `text` is not such a timestamp.
/// `2026-01-01T00:02:00.249133Z` less 300 s is `2025-12-31T23:57:00.249133Z`.
public func timestamp(_ text: String, minusSeconds seconds: Int64) -> String? {
    guard let normalized = normalizedTimestamp(text), let whole = wholeSecondsSince1970(normalized) else { return nil }
    let shifted = formatTimestamp(secondsSince1970: Double(whole - seconds))
    return String(shifted.prefix(19)) + String(normalized.dropFirst(19))
}

/// The whole seconds since 1970 of a normalised timestamp (`YYYY-MM-DDTHH:MM:SS…`), the
/// fraction dropped; nil when a field is out of range.
package func wholeSecondsSince1970(_ normalized: String) -> Int64? {
    let bytes = Array(normalized.utf8)
    guard bytes.count >= 19 else { return nil }
    func number(_ range: Range<Int>) -> Int64 { range.reduce(0) { $0 * 10 + Int64(bytes[$1] &- UInt8(ascii: "0")) } }
    let (year, month, day) = (number(0..<4), number(5..<7), number(8..<10))
    let (hour, minute, second) = (number(11..<13), number(14..<16), number(17..<19))
    guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
    return daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
}
