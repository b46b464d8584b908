/// Which threats a report covers: created at or after `since`, on site `site`, top `limit` rows.
public struct ReportFilter: Sendable, Equatable {
    /// The normalised lower bound on `created_at` (`YYYY-MM-DD` or a full stored-form timestamp).
    public let since: String?
    /// A site name or site ID.
    public let site: String?
    /// Rows of each "top" report; `nil` for all.
    public let limit: Int?

    /// Validates `since`: `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z]` read as UTC.
    public init(since: String? = nil, site: String? = nil, limit: Int? = 10) throws {
        self.since = try since.map(Self.normalise)
        self.site = site
        self.limit = limit
    }

    /// The three parameters every canned report's SQL takes: ?1 since, ?2 site, ?3 limit.
    func parameters(limited: Bool) -> [SQLValue] {
        [since.sqlValue, site.sqlValue, .integer(limited ? Int64(limit ?? -1) : -1)]
    }

    /// Puts a timestamp in the stored form (six fractional digits and `Z`), so that text
    /// comparison with `created_at` is time comparison.
    static func normalise(_ text: String) throws -> String {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= bytes.count && bytes[range].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        }
        func byte(_ index: Int, _ char: Character) -> Bool { index < bytes.count && bytes[index] == char.asciiValue! }
        guard digits(0..<4), byte(4, "-"), digits(5..<7), byte(7, "-"), digits(8..<10) else {
            throw ReportingError.invalidSince(text)
        }
        if bytes.count == 10 { return text }
        guard byte(10, "T") || byte(10, " "), digits(11..<13), byte(13, ":"), digits(14..<16) else {
            throw ReportingError.invalidSince(text)
        }
        var rest = bytes[16...]
        if rest.last == UInt8(ascii: "Z") { rest = rest.dropLast() }
        var seconds = "00"
        var fraction = ""
        if !rest.isEmpty {
            let part = String(decoding: rest, as: UTF8.self)
            guard part.hasPrefix(":"), part.count >= 3 else { throw ReportingError.invalidSince(text) }
            let afterColon = part.dropFirst()
            let secondsPart = afterColon.prefix(2)
            guard secondsPart.allSatisfy(\.isNumber) else { throw ReportingError.invalidSince(text) }
            seconds = String(secondsPart)
            let tail = afterColon.dropFirst(2)
            if !tail.isEmpty {
                guard tail.hasPrefix("."), tail.count <= 7, tail.count >= 2, tail.dropFirst().allSatisfy(\.isNumber) else {
                    throw ReportingError.invalidSince(text)
                }
                fraction = String(tail.dropFirst())
            }
        }
        fraction += String(repeating: "0", count: 6 - fraction.count)
        let date = String(decoding: bytes[0..<10], as: UTF8.self)
        let time = String(decoding: bytes[11..<16], as: UTF8.self)
        return "\(date)T\(time):\(seconds).\(fraction)Z"
    }
}
