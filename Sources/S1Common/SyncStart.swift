/// Where a sync starts listing when it is not simply "from the stored watermark".
public enum SyncStart: Sendable, Equatable {
    /// This long before now (`--since 24h`).
    case window(seconds: Int64)
    /// From this time (`--since 2026-01-31T00:00:00Z`), normalised to six fractional digits.
    case timestamp(String)

    /// The first window of a database that has no watermark yet and no `--since`: 7 days.
    public static let defaultFirstWindow = SyncStart.window(seconds: 7 * 86_400)

    /// Parses a duration (`15min`, `24h`, `7d`, `2w`, `90s`) or a time, as `TimeGrammar`
    /// reads them; nil when it is neither.
    public static func parse(_ text: String) -> SyncStart? {
        try? TimeGrammar.parseSince(text)
    }

    /// The lower bound this start stands for, as of `now` (seconds since 1970).
    public func timestamp(now: Double) -> String {
        switch self {
        case .window(let seconds): return formatTimestamp(secondsSince1970: (now - Double(seconds)).rounded(.down))
        case .timestamp(let text): return text
        }
    }
}

/// An ISO-8601 UTC timestamp sent by the console, as the database stores it (six
/// fractional digits and `Z`); a bare date `YYYY-MM-DD` is midnight UTC; nil when it is not
/// one. What a person types goes through `TimeGrammar` instead.
public func normalizedTimestamp(_ text: String) -> String? {
    var text = text
    if text.utf8.count == 10 { text += "T00:00:00Z" }
    let bytes = Array(text.utf8)
    guard let normalized = bytes.withUnsafeBytes({ normalizeTimestamp($0) }) else { return nil }
    return String(decoding: normalized, as: UTF8.self)
}
