import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import S1IngestCore
import S1Testing
import S1MockConsole
import Testing

/// The HTML page is well-formed XML, self-contained, and holds every chart's numbers.
@Suite struct HTMLReportTests {
    func render(filter: ReportFilter = try! ReportFilter(), count: Int = 3000) async throws -> (html: String, data: HTMLReportData) {
        let path = try await TestDatabases.synthetic(.init(count: count, seed: 1))
        defer { TestDatabases.remove(path) }
        let output = TestDatabases.temporaryPath("html")
        defer { try? FileManager.default.removeItem(atPath: output) }
        try ReportJob(databasePath: path, filter: filter, htmlPath: output).run(to: .standardOutput())
        let html = try String(contentsOfFile: output, encoding: .utf8)
        let data = try HTMLReportData(reader: ReadOnlyDatabase(path: path), filter: filter)
        return (html, data)
    }

    /// The markup of the element with `id`, up to the end of its section.
    func section(_ html: String, id: String) throws -> Substring {
        let start = try #require(html.range(of: "id=\"\(id)\""))
        let end = try #require(html[start.upperBound...].range(of: "</section>"))
        return html[start.lowerBound..<end.upperBound]
    }

    @Test func pageIsWellFormedAndSelfContained() async throws {
        let (html, _) = try await render()
        #if canImport(FoundationXML)
        let document = try XMLDocument(xmlString: html, options: [])
        #expect(document.rootElement()?.name == "html")
        #endif
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("src="))
        #expect(!html.contains("<link"))
        #expect(!html.contains("url("))
        #expect(html.components(separatedBy: "<svg ").count - 1 == 5)
        for tag in ["html", "head", "body", "section", "svg", "table", "details"] {
            let opened = html.components(separatedBy: "<\(tag)>").count + html.components(separatedBy: "<\(tag) ").count - 2
            #expect(opened == html.components(separatedBy: "</\(tag)>").count - 1, "\(tag) balanced")
        }
    }

    @Test func everyChartCarriesItsData() async throws {
        let (html, data) = try await render()
        let charts: [(String, CannedReport.Result)] = [
            ("threats-per-day", data.perDay), ("classifications", data.classifications),
            ("mitigation-outcomes", data.mitigations), ("top-agents", data.topAgents), ("top-techniques", data.techniques),
        ]
        for (id, result) in charts {
            #expect(!result.rows.isEmpty, "\(id) has data")
            let markup = try section(html, id: id)
            for row in result.rows {
                for value in row {
                    #expect(markup.contains(">\(value.textValue ?? "")<"), "\(id) shows \(value)")
                }
            }
        }
        // Concrete numbers of this data set: 3000 threats over three days, 8 classifications.
        #expect(data.totals.threats == 3000)
        #expect(data.perDay.rows.map { $0[1] } == [.integer(190), .integer(2335), .integer(475)])
        #expect(try section(html, id: "threats-per-day").contains("<title>2023-11-15: 2,335 threats</title>"))
        #expect(data.classifications.rows.count == 8)
        #expect(try section(html, id: "total-threats").contains(">3,000<"))
        let outcomes = try section(html, id: "mitigation-outcomes")
        #expect(outcomes.contains("<title>quarantine failed: 325 (10.8%)</title>"))
        #expect(outcomes.contains("<title>quarantine succeeded: 2,675 (89.2%)</title>"))
    }

    @Test func filtersAreShownAndApplied() async throws {
        let (html, data) = try await render(filter: ReportFilter(since: "2023-11-16", site: "Site 2", limit: 5))
        #expect(html.contains("created since 2023-11-16, site Site 2"))
        #expect(data.topAgents.rows.count <= 5)
        #expect(data.perDay.rows.map { $0[0] } == [.text("2023-11-16")])
        #expect(data.totals.threats > 0 && data.totals.threats < 475)
    }

    /// Renders the page for the database at `path`.
    func render(path: String) throws -> String {
        let output = TestDatabases.temporaryPath("html")
        defer { try? FileManager.default.removeItem(atPath: output) }
        try ReportJob(databasePath: path, filter: ReportFilter(), htmlPath: output).run(to: .standardOutput())
        return try String(contentsOfFile: output, encoding: .utf8)
    }

    /// Threats on two days 50 days apart: the 49 days between are in the chart and its table as 0.
    @Test func daysWithoutThreatsShowInChartAndTable() async throws {
        let set = SyntheticAnalyses(count: 4, seed: 3)
        let input = TestDatabases.temporaryPath("ndjson")
        defer { try? FileManager.default.removeItem(atPath: input) }
        // Analyses 0 and 1 on 2023-11-14 as generated; 2 and 3 moved 50 days later (2024-01-03).
        let bodies = (0..<4).map { index -> String in
            let body = set.body(index)
            guard index >= 2 else { return body }
            return body.replacingOccurrences(of: "\"createdAt\":\"2023-11-14T", with: "\"createdAt\":\"2024-01-03T")
        }
        try (bodies.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let path = TestDatabases.temporaryPath()
        defer { TestDatabases.remove(path) }
        _ = try await Importer(options: ImportOptions(databasePath: path, inputs: [input])).run()

        let data = try HTMLReportData(reader: ReadOnlyDatabase(path: path), filter: ReportFilter())
        #expect(data.perDay.rows.count == 51)
        #expect(data.perDay.rows.first?[0] == .text("2023-11-14"))
        #expect(data.perDay.rows.last?[0] == .text("2024-01-03"))
        #expect(data.perDay.rows[1] == [.text("2023-11-15"), .integer(0), .integer(0)])
        #expect(data.perDay.rows.map { $0[1] }.filter { $0 != .integer(0) } == [.integer(2), .integer(2)])
        let html = try render(path: path)
        let markup = try section(html, id: "threats-per-day")
        #expect(markup.components(separatedBy: "<rect ").count - 1 == 51)
        #expect(markup.contains("<title>2023-12-25: 0 threats</title>"))
        #expect(markup.contains("<td>2023-12-25</td><td class=\"num\">0</td><td class=\"num\">0</td>"))
        #expect(markup.contains("Data (51 rows)"))
    }

    /// An empty database: no rate is "0.0%"; it is "—".
    @Test func ratesOfNothingAreADash() async throws {
        let path = TestDatabases.temporaryPath()
        defer { TestDatabases.remove(path) }
        _ = try StoreOpener.migrate(path: path)
        let html = try render(path: path)
        let card = try section(html, id: "failure-rate")
        #expect(card.contains(">—<"))
        #expect(!html.contains("0.0%"))
    }

    /// Each mitigation bar is labelled with its failed count, not only its total.
    @Test func mitigationBarsLabelTheirFailures() async throws {
        let (html, data) = try await render(count: 300)
        let outcomes = try section(html, id: "mitigation-outcomes")
        #expect(data.mitigations.rows.count == 4)
        for row in data.mitigations.rows {
            let total = SVGChart.format(HTMLReport.number(row[1])), failed = SVGChart.format(HTMLReport.number(row[3]))
            #expect(outcomes.contains(">\(total) · \(failed) failed</text>"), "\(row)")
        }
        #expect(outcomes.contains(">300 · 32 failed</text>"))
    }
}
