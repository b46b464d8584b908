import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import S1MockConsole

@Suite struct ThreatListTests {
    @Test func pagingVisitsEveryThreatOnceInOrder() async throws {
        let analyses = SyntheticAnalyses(count: 2_500, seed: 2)
        try await withConsole(MockConsoleConfiguration(analyses: analyses)) { console, client in
            let pages = try await listAll(client, console, query: "limit=1000&sortBy=updatedAt&sortOrder=asc")
            #expect(pages.map(\.items.count) == [1000, 1000, 500])
            #expect(pages.map(\.totalItems) == [2500, 2500, 2500])
            #expect(pages.last?.nextCursor == nil)
            #expect(pages.dropLast().allSatisfy { $0.nextCursor != nil })
            let ids = pages.flatMap(\.ids)
            #expect(ids.count == 2_500)
            #expect(Set(ids) == Set((0..<2_500).map(analyses.threatId)))
            // (updatedAt, id) ascending; all timestamps have the same layout, and all IDs 19 digits.
            let keys = pages.flatMap { zip($0.updatedAts, $0.ids).map { "\($0)|\($1)" } }
            #expect(keys.count == 2_500)
            #expect(keys == keys.sorted())
            #expect(console.listRequests == 3)
            // Items carry the fields the sync needs.
            let item = try #require(pages.first?.items.first)
            let threatInfo = try #require(item["threatInfo"] as? [String: Any])
            for key in ["threatId", "updatedAt", "createdAt", "classification", "incidentStatus"] {
                #expect(threatInfo[key] is String, "threatInfo.\(key)")
            }
            #expect(threatInfo["threatId"] as? String == item["id"] as? String)
            let realtime = try #require(item["agentRealtimeInfo"] as? [String: Any])
            for key in ["agentId", "siteId", "siteName"] { #expect(realtime[key] is String, "agentRealtimeInfo.\(key)") }
            #expect((item["agentDetectionInfo"] as? [String: Any])?["siteId"] is String)
        }
    }

    @Test func defaultLimitAndDescendingOrder() async throws {
        let analyses = SyntheticAnalyses(count: 25)
        try await withConsole(MockConsoleConfiguration(analyses: analyses)) { console, client in
            let first = try ListPage(try await get(client, console.listURL("")))
            #expect(first.ids == (0..<10).map(analyses.threatId))
            let descending = try await listAll(client, console, query: "limit=7&sortOrder=desc")
            #expect(descending.map(\.items.count) == [7, 7, 7, 4])
            #expect(descending.flatMap(\.ids) == (0..<25).reversed().map(analyses.threatId))
        }
    }

    @Test func updatedAtFiltersCompareAsTimes() async throws {
        let analyses = SyntheticAnalyses(count: 300, seed: 4)
        try await withConsole(MockConsoleConfiguration(analyses: analyses)) { console, client in
            let threshold = analyses.updatedAt(100)
            let expected = (0..<300).filter { analyses.updatedAt($0) >= threshold }.map(analyses.threatId)
            #expect(expected.count == 200)
            let gte = try await listAll(client, console, query: "limit=1000&updatedAt__gte=\(queryEncoded(threshold))")
            #expect(gte.flatMap(\.ids) == expected)
            #expect(gte.first?.totalItems == 200)
            let gt = try await listAll(client, console, query: "limit=1000&updatedAt__gt=\(queryEncoded(threshold))")
            #expect(gt.flatMap(\.ids) == Array(expected.dropFirst()))
            // The same moment written with an offset and fewer fractional digits.
            let micros = threshold.dropLast().split(separator: ".")[1]
            let seconds = threshold.split(separator: ".")[0]  // YYYY-MM-DDTHH:MM:SS
            let hour = Int(seconds.dropFirst(11).prefix(2))!
            let shifted = String(seconds.prefix(11)) + String(format: "%02d", (hour + 2) % 24) + String(seconds.dropFirst(13))
                + "." + micros + "+02:00"
            if hour < 22 {
                let offset = try await listAll(client, console, query: "limit=1000&updatedAt__gte=\(queryEncoded(shifted))")
                #expect(offset.flatMap(\.ids) == expected, "\(shifted)")
            }
            let bad = try await get(client, console.listURL("updatedAt__gte=yesterday"))
            #expect(bad.status == 400)
        }
    }

    @Test func siteIdsFilter() async throws {
        let analyses = SyntheticAnalyses(count: 200, seed: 9)
        func siteId(_ index: Int) throws -> String {
            let object = try JSONSerialization.jsonObject(with: Data(analyses.body(index).utf8)) as? [String: Any]
            let data = object?["data"] as? [String: Any]
            return try #require((data?["agentDetectionInfo"] as? [String: Any])?["siteId"] as? String)
        }
        let sites = try (0..<200).map(siteId)
        let chosen = Array(Set(sites)).sorted().prefix(2)
        #expect(chosen.count == 2)
        let expected = (0..<200).filter { chosen.contains(sites[$0]) }.map(analyses.threatId)
        try await withConsole(MockConsoleConfiguration(analyses: analyses)) { console, client in
            let pages = try await listAll(client, console, query: "limit=25&siteIds=\(chosen.joined(separator: ","))")
            #expect(pages.flatMap(\.ids) == expected)
            #expect(pages.first?.totalItems == expected.count)
            let one = try await listAll(client, console, query: "limit=1000&siteIds=\(chosen.first!)")
            #expect(one.flatMap(\.ids) == (0..<200).filter { sites[$0] == chosen.first! }.map(analyses.threatId))
            let ids = [analyses.threatId(150), analyses.threatId(3), "999"]
            let byId = try ListPage(try await get(client, console.listURL("ids=\(ids.joined(separator: ","))")))
            #expect(byId.ids == [analyses.threatId(3), analyses.threatId(150)])
        }
    }

    @Test func invalidParametersAreBadRequests() async throws {
        let analyses = SyntheticAnalyses(count: 10)
        try await withConsole(MockConsoleConfiguration(analyses: analyses)) { console, client in
            for query in ["limit=1001", "limit=0", "limit=ten", "cursor=not-a-cursor", "cursor=%21%21", "sortOrder=up", "sortBy=createdAt", "siteIds=abc"] {
                let fetched = try await get(client, console.listURL(query))
                #expect(fetched.status == 400, "\(query)")
                #expect(try fetched.errorCode() == 4_000_010, "\(query)")
            }
            let max = try ListPage(try await get(client, console.listURL("limit=1000")))
            #expect(max.items.count == 10)
            #expect(max.nextCursor == nil)
        }
    }

    @Test func touchedThreatsComeBackAfterTheLastSeenUpdatedAt() async throws {
        let analyses = SyntheticAnalyses(count: 50, seed: 11)
        try await withConsole(MockConsoleConfiguration(analyses: analyses)) { console, client in
            let before = try await listAll(client, console, query: "limit=1000")
            let previousMax = try #require(before.flatMap(\.updatedAts).max())
            console.touch([5, 17])
            #expect(console.revision(of: 5) == 1)
            let changed = try await listAll(client, console, query: "limit=1000&updatedAt__gt=\(queryEncoded(previousMax))")
            #expect(changed.flatMap(\.ids) == [analyses.threatId(5), analyses.threatId(17)])
            let newTimes = changed.flatMap(\.updatedAts)
            #expect(newTimes.allSatisfy { $0 > previousMax })
            #expect(newTimes == newTimes.sorted() && Set(newTimes).count == 2)
            let fetched = try await get(client, console.analysisURL(analyses.threatId(5)))
            #expect(fetched.text == analyses.body(5, revision: 1, updatedAt: newTimes[0]))
            #expect(console.updatedAt(of: 5) == newTimes[0])
            let threatInfo = (try fetched.json()["data"] as? [String: Any])?["threatInfo"] as? [String: Any]
            #expect(threatInfo?["updatedAt"] as? String == newTimes[0])
            #expect(threatInfo?["incidentStatus"] as? String == "resolved")
            // A second change is later still.
            console.touch([5])
            let again = try ListPage(try await get(client, console.listURL("updatedAt__gt=\(queryEncoded(newTimes[1]))")))
            #expect(again.ids == [analyses.threatId(5)])
            #expect(console.revision(of: 5) == 2)
            let all = try await listAll(client, console, query: "limit=1000")
            #expect(all.flatMap(\.ids).count == 50)
            #expect(all.flatMap(\.ids).suffix(2) == [analyses.threatId(17), analyses.threatId(5)])
        }
    }

    @Test func pagingStaysCorrectWhenThreatsChangeBetweenPages() async throws {
        let analyses = SyntheticAnalyses(count: 30, seed: 12)
        try await withConsole(MockConsoleConfiguration(analyses: analyses)) { console, client in
            let first = try ListPage(try await get(client, console.listURL("limit=10")))
            #expect(first.ids == (0..<10).map(analyses.threatId))
            console.touch([2, 25])  // one already seen, one not yet
            var ids = first.ids
            var cursor = first.nextCursor
            while let next = cursor {
                let page = try ListPage(try await get(client, console.listURL("limit=10&cursor=\(queryEncoded(next))")))
                ids += page.ids
                cursor = page.nextCursor
            }
            // Nothing skipped; the changed ones come (again) at the end, in change order.
            #expect(Set(ids) == Set((0..<30).map(analyses.threatId)))
            #expect(ids.filter { $0 == analyses.threatId(25) }.count == 1)
            #expect(ids.suffix(2) == [analyses.threatId(2), analyses.threatId(25)])
            #expect(ids.count == 31)
        }
    }
}
