import Foundation
import S1IngestCore
import S1MockConsole
import Testing

@Suite struct SyntheticAnalysesTests {
    @Test func sameSeedSameBodies() {
        let a = SyntheticAnalyses(count: 50, seed: 7)
        let b = SyntheticAnalyses(count: 50, seed: 7)
        #expect(a.body(13) == b.body(13))
        #expect(a.body(13) != SyntheticAnalyses(count: 50, seed: 8).body(13))
    }

    @Test func threatIdsRoundTrip() {
        let set = SyntheticAnalyses(count: 100)
        for index in [0, 1, 57, 99] {
            #expect(set.index(of: set.threatId(index)) == index)
        }
        #expect(set.index(of: set.threatId(100)) == nil)
        #expect(set.index(of: "12345") == nil)
        #expect(set.threatId(0).count == 19)
    }

    /// `threatInfo` of a body.
    func threatInfo(_ body: String) throws -> [String: Any] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let data = try #require(object["data"] as? [String: Any])
        return try #require(data["threatInfo"] as? [String: Any])
    }

    /// With a reference time the set looks like a live console's: the 30 days before it, some
    /// threats in the last 7 (sync's default window), a share resolved; reproducible.
    @Test func liveTimelineEndsAtTheReferenceTime() throws {
        let reference = 1_780_000_000  // 2026-05-28T20:26:40Z
        let set = SyntheticAnalyses(count: 1000, seed: 2026, referenceTime: reference)
        #expect(set.body(123) == SyntheticAnalyses(count: 1000, seed: 2026, referenceTime: reference).body(123))
        let earliest = formatTimestamp(secondsSince1970: Double(reference - 30 * 86_400))
        let latest = formatTimestamp(secondsSince1970: Double(reference - 15 * 60))
        let weekAgo = formatTimestamp(secondsSince1970: Double(reference - 7 * 86_400))
        var statuses: [String: Int] = [:]
        var days = Set<Substring>()
        var lastWeek = 0, updatedLastWeek = 0
        for index in 0..<set.count {
            let info = try threatInfo(set.body(index))
            let created = try #require(info["createdAt"] as? String)
            let updated = try #require(info["updatedAt"] as? String)
            #expect(created >= earliest && created <= latest, "\(index): \(created)")
            #expect(updated > created && updated <= latest, "\(index): \(updated)")
            #expect(set.updatedAt(index) == updated)
            days.insert(created.prefix(10))
            if created >= weekAgo { lastWeek += 1 }
            if updated >= weekAgo { updatedLastWeek += 1 }
            statuses[try #require(info["incidentStatus"] as? String), default: 0] += 1
        }
        #expect(days.count >= 30)
        #expect(lastWeek >= 150 && lastWeek <= 320, "\(lastWeek)")
        #expect(updatedLastWeek >= lastWeek)
        let resolved = statuses["resolved"] ?? 0
        #expect(resolved >= 300 && resolved <= 550, "\(statuses)")
        #expect((statuses["unresolved"] ?? 0) > 100 && (statuses["in_progress"] ?? 0) > 50, "\(statuses)")
    }

    /// Without a reference time the fixed 2023 timeline the tests' figures assume stays as it was.
    @Test func fixedTimelineIsUnchanged() throws {
        let set = SyntheticAnalyses(count: 100)
        let info = try threatInfo(set.body(0))
        #expect(info["createdAt"] as? String == "2023-11-14T22:03:20.000000Z")
        #expect(info["updatedAt"] as? String == "2023-11-14T22:13:20.000000Z")
        #expect(set.updatedAt(99).hasPrefix("2023-11-14T23:14:23."))
        for index in 0..<100 { #expect(try threatInfo(set.body(index))["incidentStatus"] as? String != "resolved") }
    }

    /// File paths use the separator of their operating system only.
    @Test func filePathsAreClean() throws {
        for set in [SyntheticAnalyses(count: 200), SyntheticAnalyses(count: 200, seed: 2026, referenceTime: 1_780_000_000)] {
            var kinds = Set<String>()
            for index in 0..<set.count {
                let path = try #require(try threatInfo(set.body(index))["filePath"] as? String)
                if path.hasPrefix("C:\\") {
                    #expect(!path.contains("/"), "\(path)")
                    kinds.insert("windows")
                } else {
                    #expect(path.hasPrefix("/") && !path.contains("\\"), "\(path)")
                    kinds.insert("unix")
                }
                #expect(path.hasSuffix("sample\(index).exe"))
            }
            #expect(kinds == ["windows", "unix"])
        }
    }
}
