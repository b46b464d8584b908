import Foundation

/// The filters and order of a threat list query; a cursor carries them so that every page
/// of one listing uses the same ones.
struct ListFilters: Equatable, Sendable {
    var descending = false
    /// `updatedAt__gte`, µs since 1970.
    var updatedAtGTE: Int64?
    /// `updatedAt__gt`, µs since 1970.
    var updatedAtGT: Int64?
    /// `siteIds` (nil: any site).
    var siteIds: Set<UInt64>?
    /// `ids` (nil: any threat).
    var ids: Set<UInt64>?
}

/// An opaque `nextCursor`: the position after which the next page starts — the
/// (updatedAt, id) of the last item returned — plus the filters of the listing. Because it
/// is a position, not an offset, paging stays correct when threats change between pages.
///
/// Text form: base64url (no padding) of `v1|a or d|<updatedAt µs>|<id>|<gte>|<gt>|<sites>|<ids>`.
struct ListCursor: Equatable, Sendable {
    var updatedAt: Int64
    var id: UInt64
    var filters: ListFilters

    var encoded: String {
        func optional(_ value: Int64?) -> String { value.map(String.init) ?? "" }
        func list(_ values: Set<UInt64>?) -> String {
            guard let values else { return "*" }
            return values.sorted().map(String.init).joined(separator: ",")
        }
        let text = [
            "v1", filters.descending ? "d" : "a", String(updatedAt), String(id),
            optional(filters.updatedAtGTE), optional(filters.updatedAtGT), list(filters.siteIds), list(filters.ids),
        ].joined(separator: "|")
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(updatedAt: Int64, id: UInt64, filters: ListFilters) {
        self.updatedAt = updatedAt
        self.id = id
        self.filters = filters
    }

    /// Decodes a cursor made by ``encoded``; nil for anything else.
    init?(encoded: String) {
        guard !encoded.isEmpty, encoded.utf8.count <= 1_000_000,
              encoded.utf8.allSatisfy({ byte in
                  (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                      || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
              })
        else { return nil }
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 8, parts[0] == "v1", parts[1] == "a" || parts[1] == "d",
              let updatedAt = Int64(parts[2]), let id = UInt64(parts[3])
        else { return nil }
        func optional(_ part: Substring) -> Int64?? {
            if part.isEmpty { return .some(nil) }
            guard let value = Int64(part) else { return nil }
            return .some(value)
        }
        func list(_ part: Substring) -> Set<UInt64>?? {
            if part == "*" { return .some(nil) }
            if part.isEmpty { return .some([]) }
            var values = Set<UInt64>()
            for item in part.split(separator: ",", omittingEmptySubsequences: false) {
                guard let value = UInt64(item) else { return nil }
                values.insert(value)
            }
            return .some(values)
        }
        guard let gte = optional(parts[4]), let gt = optional(parts[5]),
              let sites = list(parts[6]), let ids = list(parts[7])
        else { return nil }
        self.init(
            updatedAt: updatedAt, id: id,
            filters: ListFilters(descending: parts[1] == "d", updatedAtGTE: gte, updatedAtGT: gt, siteIds: sites, ids: ids))
    }
}
