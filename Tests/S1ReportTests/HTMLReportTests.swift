import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import S1IngestCore
import S1MockConsole
import Testing

/// The HTML page is well-formed XML, self-contained, and holds every chart's numbers.
@Suite struct HTMLReportTests {
    func render(filter: ReportFilter = try! ReportFilter()) async throws -> (html: String, data: HTMLReportData) {
        let path = try await TestDatabases.synthetic(.init(count: 3000, seed: 1))
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
}
