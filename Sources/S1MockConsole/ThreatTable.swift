import Foundation

/// What the list endpoint needs to know about every threat of the set without generating
/// its body: the original `updatedAt` (µs since 1970), the numeric threat ID, the site ID,
/// and the order of the set by (updatedAt, id). Built once, on first use.
struct ThreatTable: Sendable {
    /// `threatInfo.updatedAt` at revision 0, in microseconds since 1970.
    let baseUpdatedAt: [Int64]
    /// The threat IDs as numbers (all 19 digits, so numeric order is text order).
    let ids: [UInt64]
    /// `agentDetectionInfo.siteId` as a number.
    let sites: [UInt64]
    /// Indices ordered by (baseUpdatedAt, id).
    let baseOrder: [Int]
    /// The latest `baseUpdatedAt`.
    let maxBaseUpdatedAt: Int64

    init(_ analyses: SyntheticAnalyses) {
        let count = analyses.count
        var updated = [Int64](repeating: 0, count: count)
        var ids = [UInt64](repeating: 0, count: count)
        for index in 0..<count {
            updated[index] = TimestampText.parse(Substring(analyses.updatedAt(index))) ?? 0
            ids[index] = UInt64(analyses.threatId(index)) ?? 0
        }
        baseUpdatedAt = updated
        self.ids = ids
        sites = Self.siteIds(analyses)
        var order = Array(0..<count)
        let sorted = zip(order, order.dropFirst()).allSatisfy { a, b in
            (updated[a], ids[a]) < (updated[b], ids[b])
        }
        if !sorted {
            order.sort { a, b in (updated[a], ids[a]) < (updated[b], ids[b]) }
        }
        baseOrder = order
        maxBaseUpdatedAt = updated.max() ?? 0
    }

    /// The site of every threat. The generator puts agent `a` in site `a % 7`; that is
    /// checked against real bodies for a sample, and bodies are read for all when it fails.
    static func siteIds(_ analyses: SyntheticAnalyses) -> [UInt64] {
        let count = analyses.count
        let firstSite: UInt64 = 1_286_405_255_257_023_125
        let predicted = (0..<count).map { firstSite + UInt64(analyses.agentIndex($0) % 7) }
        let step = max(1, count / 40)
        let matches = stride(from: 0, to: count, by: step).allSatisfy { index in
            siteId(inBody: analyses.body(index)) == predicted[index]
        }
        if matches { return predicted }
        return (0..<count).map { siteId(inBody: analyses.body($0)) ?? 0 }
    }

    /// `agentDetectionInfo.siteId` read from an analysis body.
    static func siteId(inBody body: String) -> UInt64? {
        guard let section = body.range(of: "\"agentDetectionInfo\":{"),
              let key = body.range(of: "\"siteId\":\"", range: section.upperBound..<body.endIndex),
              let end = body[key.upperBound...].firstIndex(of: "\"")
        else { return nil }
        return UInt64(body[key.upperBound..<end])
    }
}
