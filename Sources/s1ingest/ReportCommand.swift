import ArgumentParser
import Foundation
import S1IngestCore

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print canned reports, or write them as one HTML page with charts.",
        discussion: """
            Reports: \(CannedReport.known.map(\.name).joined(separator: ", ")).

            Without NAME every report is printed; on a database holding several consoles, by-console comes first (and the HTML page gets a per-console section) unless --console picks one. --html FILE writes one self-contained page (inline SVG charts, no scripts, no external files).
            """
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: ArgumentHelp("Only threats created this long ago or later (24h, 7d, 2w) or at or after this time (2026-01-31, 2026-01-31T08:00:00Z; an offset such as +02:00 is converted to UTC).", valueName: "duration|timestamp"))
    var since: String?

    @Option(help: ArgumentHelp("Only threats of this site (name or ID).", valueName: "site"))
    var site: String?

    @OptionGroup var consoleFilter: ConsoleFilterOption

    @Option(help: "Rows of each top-N report.")
    var limit = 10

    @Option(help: ArgumentHelp("Write the HTML report to this file instead of printing.", valueName: "file"))
    var html: String?

    @Argument(help: ArgumentHelp("The report to print (default: all).", valueName: "name"))
    var name: String?

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        if html != nil && name != nil { throw ValidationError("--html writes every chart; leave out NAME") }
        if let since { _ = try parseTimeOption("--since") { try TimeGrammar.parseSince(since) } }
        if let name, !CannedReport.known.contains(where: { $0.name == name }) {
            throw ValidationError("no report named '\(name)'; reports: \(CannedReport.known.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        try runReportingErrors {
            if let site { try warnIfUnknown(site: site) }
            let console = try consoleFilter.storedName(in: database)
            let job = ReportJob(databasePath: database.path, reportNames: name.map { [$0] } ?? [],
                                filter: try ReportFilter(since: since, site: site, limit: limit, console: console), htmlPath: html)
            try job.run(to: .standardOutput())
        }
    }

    /// `--site` naming no site of the database: a warning listing the known ones (the
    /// reports then show no rows).
    private func warnIfUnknown(site: String) throws {
        guard database.exists else { return }
        let pairs = try ReportFilter.knownSites(in: database.store.openReader())
        guard !pairs.contains(where: { $0.id == site || $0.name == site }) else { return }
        let list = pairs.prefix(20).map { pair in
            switch (pair.name, pair.id) {
            case let (name?, id?): return "\(name) (\(id))"
            case let (name?, nil): return name
            case let (nil, id?): return id
            default: return ""
            }
        }
        let more = pairs.count > 20 ? ", ..." : ""
        Console(quiet: false).warn("warning: no site named '\(site)' in \(database.path); "
            + (pairs.isEmpty ? "it has no sites" : "known sites: \(list.joined(separator: ", "))\(more)"))
    }
}
