import S1Storage
import S1Common
import S1JSON
import S1Model
/// The data behind the one-page HTML report.
public struct HTMLReportData: Sendable {
    /// Threats, open threats, agents, mitigation actions and failed ones in scope.
    public struct Totals: Sendable, Equatable {
        public var threats: Int64
        public var open: Int64
        public var agents: Int64
        public var mitigations: Int64
        public var failedMitigations: Int64
        public var firstSeen: String?
        public var lastSeen: String?
    }

    public let totals: Totals
    public let perDay: CannedReport.Result
    public let classifications: CannedReport.Result
    public let mitigations: CannedReport.Result
    public let topAgents: CannedReport.Result
    public let techniques: CannedReport.Result
    /// `CannedReport.byConsole` when the database holds several consoles and `filter` names
    /// none; nil otherwise (the page then has no per-console section).
    public let consoles: CannedReport.Result?
    public let filter: ReportFilter
    public let databasePath: String
    public let generatedAt: String

    /// Runs the queries the page needs.
    public init(reader: any StoreReader, filter: ReportFilter, generatedAt: String = currentTimestamp()) throws {
        let statement = try reader.query(CannedReport.sql(sqlite: """
            SELECT count(*), coalesce(sum(o.is_resolved = 0), 0), count(DISTINCT o.agent_id),
                   coalesce(sum(o.mitigation_count), 0), coalesce(sum(o.mitigations_failed), 0),
                   min(o.created_at), max(o.created_at)
            FROM threat_overview AS o WHERE \(CannedReport.scope) AND ?3 = ?3
            """, postgresql: """
            SELECT count(*), coalesce(sum((NOT o.is_resolved)::int), 0), count(DISTINCT o.agent_id),
                   coalesce(sum(o.mitigation_count), 0)::bigint, coalesce(sum(o.mitigations_failed), 0)::bigint,
                   min(o.created_at), max(o.created_at)
            FROM threat_overview AS o WHERE \(CannedReport.postgresScope) AND ?3::bigint = ?3::bigint
            """, for: reader), filter.parameters(limited: false))
        let row = try statement.allRows().first ?? []
        func int(_ index: Int) -> Int64 { index < row.count ? row[index].integerValue ?? 0 : 0 }
        totals = Totals(threats: int(0), open: int(1), agents: int(2), mitigations: int(3), failedMitigations: int(4),
                        firstSeen: row.count > 5 ? row[5].textValue : nil, lastSeen: row.count > 6 ? row[6].textValue : nil)
        perDay = Self.withEmptyDays(try CannedReport.threatsPerDay.run(on: reader, filter: filter))
        classifications = try CannedReport.topClassifications.run(on: reader, filter: filter)
        mitigations = try CannedReport.mitigationFailureRate.run(on: reader, filter: filter)
        topAgents = try CannedReport.topAgents.run(on: reader, filter: filter)
        techniques = try CannedReport.topTechniques.run(on: reader, filter: filter)
        let several = try filter.console == nil && ReportFilter.knownConsoles(in: reader).count > 1
        consoles = several ? try CannedReport.byConsole.run(on: reader, filter: filter) : nil
        self.filter = filter
        databasePath = reader.location
        self.generatedAt = generatedAt
    }

    /// The most days `withEmptyDays` spans (ten years); a wider range (a bogus `createdAt`
    /// such as year 1) is left as it is rather than made into millions of rows.
    package static let maximumFilledDays = 3660

    /// `perDay` (rows of day, threats, open; ordered by day) with a row of zeros for every
    /// day between the first and the last that has no threats, so a gap shows in the chart
    /// and its table. Rows whose day is not a `YYYY-MM-DD` date are kept as they are.
    package static func withEmptyDays(_ result: CannedReport.Result) -> CannedReport.Result {
        let days = result.rows.compactMap { $0.first?.textValue.flatMap(CivilDay.init) }
        guard let first = days.min(), let last = days.max(), last.number - first.number < maximumFilledDays else {
            return result
        }
        var rows: [[SQLValue]] = []
        var previous: CivilDay?
        for row in result.rows {
            if let day = row.first?.textValue.flatMap(CivilDay.init) {
                if let before = previous, day.number > before.number + 1 {
                    for number in (before.number + 1)..<day.number {
                        rows.append([.text(CivilDay(number: number).text)]
                                    + Array(repeating: SQLValue.integer(0), count: max(0, row.count - 1)))
                    }
                }
                previous = day
            }
            rows.append(row)
        }
        return CannedReport.Result(report: result.report, columns: result.columns, rows: rows)
    }
}

/// A proleptic Gregorian day, as days since 1970-01-01 (H. Hinnant's civil-day algorithms).
package struct CivilDay: Comparable {
    package let number: Int

    package init(number: Int) { self.number = number }

    /// A `YYYY-MM-DD` date; nil for anything else (or a date that does not exist).
    package init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0 >= "0" && $0 <= "9" } }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), day >= 1 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month - 1] else { return nil }
        number = Int(daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day)))
    }

    /// `YYYY-MM-DD`.
    package var text: String {
        let (year, month, day, _, _, _) = civilTime(secondsSince1970: Int64(number) * 86_400)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    package static func < (a: CivilDay, b: CivilDay) -> Bool { a.number < b.number }
}

/// One self-contained XHTML page: inline CSS and SVG, no scripts, no external assets, and
/// well-formed XML (so any XML parser reads it). Every chart's numbers are also in a table.
public enum HTMLReport {
    public static func render(_ data: HTMLReportData) -> String {
        let totals = data.totals
        // A rate of nothing is unknown, not 0%.
        let failureRate = totals.mitigations > 0
            ? String(format1: 100 * Double(totals.failedMitigations) / Double(totals.mitigations)) + "%" : "—"
        var scope: [String] = []
        if let since = data.filter.since { scope.append("created since \(since)") }
        if let site = data.filter.site { scope.append("site \(site)") }
        if let console = data.filter.console { scope.append("console \(console)") }
        let scopeText = scope.isEmpty ? "all threats" : scope.joined(separator: ", ")
        let range = [totals.firstSeen, totals.lastSeen].compactMap { $0.map { String($0.prefix(10)) } }

        var html = """
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>s1ingest threat report</title>
            <style>\(style)</style>
            </head>
            <body>
            <header><h1>Threat report</h1>
            <p class="scope">\(escaped(scopeText))\(range.count == 2 ? " · \(escaped(range[0])) to \(escaped(range[1]))" : "") · \(escaped(data.databasePath)) · generated \(escaped(data.generatedAt))</p></header>
            <section class="cards">
            \(card("Threats", SVGChart.format(Double(totals.threats)), id: "total-threats"))
            \(card("Open (not resolved)", SVGChart.format(Double(totals.open)), id: "open-threats"))
            \(card("Agents affected", SVGChart.format(Double(totals.agents)), id: "agents"))
            \(card("Mitigation failure rate", failureRate, id: "failure-rate"))
            </section>

            """
        if let consoles = data.consoles {
            // Open and resolved threats per console (columns 3 and 4 of `byConsole`).
            let stacks = consoles.rows.map { row in
                SVGChart.Stack(label: row[0].textValue ?? "", segments: [number(row[3]), number(row[4])])
            }
            html += section(id: "consoles", title: "Threats by console", note: "\(consoles.rows.count) consoles in this database",
                            chart: SVGChart.stacks(stacks, segmentNames: ["open", "resolved"], colors: ["#d64545", "#2e9e5b"], labelledSegment: 0),
                            table: consoles)
        }
        let perDayBars = data.perDay.rows.map { SVGChart.Bar(label: $0[0].textValue ?? "", value: number($0[1])) }
        html += section(id: "threats-per-day", title: "New threats per day", note: "UTC days, by threatInfo.createdAt; days without threats show as 0",
                        chart: SVGChart.columns(perDayBars, color: "#3b6fd4", unit: "threats"), table: data.perDay)
        let classBars = data.classifications.rows.map { SVGChart.Bar(label: $0[0].textValue ?? "", value: number($0[1])) }
        html += section(id: "classifications", title: "Threats by classification", note: "top \(data.filter.limit.map(String.init) ?? "all")",
                        chart: SVGChart.bars(classBars, color: "#7a5cc7", unit: "threats"), table: data.classifications)
        let stacks = data.mitigations.rows.map { row -> SVGChart.Stack in
            let total = number(row[1]), succeeded = number(row[2]), failed = number(row[3])
            return SVGChart.Stack(label: row[0].textValue ?? "", segments: [succeeded, failed, max(0, total - succeeded - failed)])
        }
        html += section(id: "mitigation-outcomes", title: "Mitigation outcomes by action", note: "one mitigation action per row of mitigations",
                        chart: SVGChart.stacks(stacks, segmentNames: ["succeeded", "failed", "other"], colors: ["#2e9e5b", "#d64545", "#b8bcc4"],
                                               labelledSegment: 1),
                        table: data.mitigations)
        let agentBars = data.topAgents.rows.map { SVGChart.Bar(label: $0[0].textValue ?? "", value: number($0[3])) }
        html += section(id: "top-agents", title: "Agents with the most threats", note: "top \(data.filter.limit.map(String.init) ?? "all")",
                        chart: SVGChart.bars(agentBars, color: "#e07b39", unit: "threats"), table: data.topAgents)
        let techniqueBars = data.techniques.rows.map {
            SVGChart.Bar(label: "\($0[0].textValue ?? "") \($0[1].textValue ?? "")", value: number($0[2]))
        }
        html += section(id: "top-techniques", title: "Top MITRE ATT&CK techniques", note: "threats showing each technique",
                        chart: SVGChart.bars(techniqueBars, color: "#1f8a8a", unit: "threats"), table: data.techniques)
        html += """
            <footer>Made by s1ingest from the database's reporting views. Every number above comes from one SQL query: see s1ingest report --help.</footer>
            </body>
            </html>

            """
        return html
    }

    package static func number(_ value: SQLValue) -> Double {
        switch value {
        case .integer(let number): return Double(number)
        case .real(let number): return number
        case .text(let text): return Double(text) ?? 0
        case .null: return 0
        }
    }

    package static func card(_ label: String, _ value: String, id: String) -> String {
        "<div class=\"card\" id=\"\(id)\"><div class=\"value\">\(escaped(value))</div><div class=\"label\">\(escaped(label))</div></div>"
    }

    package static func section(id: String, title: String, note: String, chart: String, table: CannedReport.Result) -> String {
        """
        <section class="chart" id="\(id)">
        <h2>\(escaped(title)) <span class="note">\(escaped(note))</span></h2>
        \(chart)
        <details><summary>Data (\(table.rows.count) row\(table.rows.count == 1 ? "" : "s"))</summary>
        \(dataTable(table))
        </details>
        </section>

        """
    }

    package static func dataTable(_ result: CannedReport.Result) -> String {
        var html = "<table><thead><tr>"
        for column in result.columns { html += "<th>\(escaped(column))</th>" }
        html += "</tr></thead><tbody>"
        for row in result.rows {
            html += "<tr>"
            for value in row {
                switch value {
                case .null: html += "<td class=\"null\"></td>"
                case .integer, .real: html += "<td class=\"num\">\(escaped(value.textValue ?? ""))</td>"
                case .text(let text): html += "<td>\(escaped(text))</td>"
                }
            }
            html += "</tr>"
        }
        return html + "</tbody></table>"
    }

    package static let style = """
        body{font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2330;background:#f4f6fa;margin:0;padding:24px}
        header,section,footer{max-width:820px;margin:0 auto 18px}
        h1{font-size:26px;margin:0 0 4px}h2{font-size:17px;margin:0 0 10px}
        .scope,.note,footer{color:#667085;font-size:13px;font-weight:normal}
        .cards{display:flex;gap:12px;flex-wrap:wrap}
        .card{flex:1 1 150px;background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(16,24,40,.08)}
        .card .value{font-size:28px;font-weight:600}.card .label{color:#667085;font-size:13px}
        .chart{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 3px rgba(16,24,40,.08)}
        svg text{font-size:12px;fill:#344054}svg .axis{fill:#667085;font-size:11px}svg .value{font-weight:600}
        svg .grid{stroke:#e4e7ec;stroke-width:1}
        details{margin-top:8px;font-size:13px}summary{cursor:pointer;color:#3b6fd4}
        table{border-collapse:collapse;margin-top:6px;width:100%}th,td{padding:3px 8px;border-bottom:1px solid #e4e7ec;text-align:left}
        td.num{text-align:right;font-variant-numeric:tabular-nums}
        .empty{color:#667085}
        """
}
