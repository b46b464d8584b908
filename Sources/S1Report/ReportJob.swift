import S1Storage
import S1Common
import S1JSON
import S1Model
/// `s1ingest report`: canned reports as text tables, or the one-page HTML report.
public struct ReportJob: Sendable {
    public var databasePath: String
    /// The reports to print (`CannedReport.name`); empty for all of them.
    public var reportNames: [String]
    public var filter: ReportFilter
    /// Where to write the HTML page instead of printing text tables.
    public var htmlPath: String?

    public init(databasePath: String, reportNames: [String] = [], filter: ReportFilter, htmlPath: String? = nil) {
        self.databasePath = databasePath
        self.reportNames = reportNames
        self.filter = filter
        self.htmlPath = htmlPath
    }

    /// Runs the reports. Text goes to `sink`; with `htmlPath` the page goes to that file.
    /// Without report names, on a database holding several consoles and with no console in
    /// `filter`, `CannedReport.byConsole` comes first (and the page gets its section).
    public func run(to sink: OutputSink, reader: any StoreReader) throws {
        var reports = try reportNames.map(CannedReport.named)
        try reader.requireViews()
        if reports.isEmpty {
            reports = CannedReport.all
            if filter.console == nil, try ReportFilter.knownConsoles(in: reader).count > 1 { reports.insert(CannedReport.byConsole, at: 0) }
        }
        if let htmlPath {
            let page = HTMLReport.render(try HTMLReportData(reader: reader, filter: filter))
            let file = try OutputSink(creatingFile: htmlPath)
            file.write(page)
            try file.flush()
            return
        }
        for (index, report) in reports.enumerated() {
            let result = try report.run(on: reader, filter: filter)
            if index > 0 { sink.write("\n") }
            sink.write("\(report.title) (\(report.name))\n\n")
            sink.write(result.rows.isEmpty ? "(no rows)\n" : TextTable(columns: result.columns, rows: result.rows).render())
        }
        try sink.flush()
    }
}
