import ArgumentParser
import Foundation
import S1IngestCore

struct CoverageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage",
        abstract: "List every JSON path in the stored raw bodies and the column it lands in, or 'raw only'.",
        discussion: """
            Walks raw_analyses (read-only) and prints each path seen (array elements as []), in how many threats it is present and not null, and its table.column: 'raw only' marks what the console sends that no column holds yet (reach it with json_extract on raw_analyses.body, or model it and run `s1ingest rebuild`). --raw-only lists just those.
            """
    )

    @OptionGroup var database: DatabaseOption

    @Flag(help: "Only the paths no column holds.")
    var rawOnly = false

    @Flag(help: "Print one JSON object: threats, unreadable, paths [{path, threats, column}].")
    var json = false

    func run() throws {
        let report = try runReportingErrors { try Coverage.run(databasePath: database.path) }
        let paths = rawOnly ? report.rawOnly : report.paths
        if json {
            let object = CoverageReport(threats: report.threats, unreadable: report.unreadable, paths: paths)
            print(JSONOutput.line(object, command: "coverage"))
            return
        }
        print("\(report.threats) raw bodies in \(database.path)\(report.unreadable > 0 ? " (\(report.unreadable) unreadable)" : ""): "
              + "\(report.paths.count) paths, \(report.rawOnly.count) raw only")
        let rows: [[SQLValue]] = paths.map { entry in
            let share = report.threats > 0 ? String(format: "%.1f%%", Double(entry.threats) * 100 / Double(report.threats)) : "—"
            return [.text(entry.path), .integer(Int64(entry.threats)), .text(share), .text(entry.column)]
        }
        var table = TextTable(columns: ["path", "threats", "share", "column"], rows: rows)
        table.maxCellWidth = 90
        print(table.render(), terminator: "")
    }
}
