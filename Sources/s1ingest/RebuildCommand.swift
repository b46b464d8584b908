import ArgumentParser
import Foundation
import S1IngestCore

struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Derive every table again from the stored raw bodies, without the network.",
        discussion: """
            After an upgrade that models more of the analysis, or a fix to flattening: each stored raw body (raw_analyses) is flattened again by this version and its threat's rows replaced together, children included; ingest times, sources and each agent's latest state are kept. Commits come in batches: a rebuild that is stopped or killed resumes where it got to (--restart starts over). --threat limits it to some threats.

            Prints rows per table before and after. Exit status: 0 done, 1 some raw bodies could not be decoded (left as they were) or --threat IDs have none, 2 failure, 4 another run holds the database.
            """
    )

    @OptionGroup var database: DatabaseOption

    @Option(name: .customLong("threat"), help: ArgumentHelp("Only this threat ID (repeat for several).", valueName: "id"))
    var threats: [String] = []

    @Flag(help: "Start from the first raw body even when the last rebuild was cut short.")
    var restart = false

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    @Option(help: .hidden)
    var batchSize = 2000

    func validate() throws {
        for id in threats where ThreatIDList.problem(with: id) != nil || id.isEmpty {
            throw ValidationError("--threat takes a threat ID (1 to 20 digits), not '\(id)'")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let options = RebuildOptions(databasePath: database.path, threatIds: threats.isEmpty ? nil : threats, restart: restart,
                                     batchSize: batchSize)
        let console = Console(quiet: json)
        let summary = try runReportingErrors { () throws -> RebuildSummary in
            guard database.exists else { throw StoreError.noDatabase(path: database.path) }
            return try Rebuilder.run(options) { done, total in console.progress("rebuilt \(done)/\(total)") }
        }
        console.clearProgress()
        if json {
            print(JSONOutput.line(summary, command: "rebuild"))
        } else {
            let resumed = summary.resumedAfter.map { ", resumed after raw body row \($0)" } ?? ""
            print("rebuild run \(summary.runId) of \(database.path): \(summary.status.rawValue) in \(String(format: "%.2f", summary.elapsedSeconds)) s, \(summary.rebuilt) threats rebuilt\(resumed)")
            print("  table                      before     after")
            for table in summary.rowsBefore.keys.sorted() {
                print("  \(table.padding(toLength: 24, withPad: " ", startingAt: 0)) \(String(summary.rowsBefore[table] ?? 0).leftPadded(8))  \(String(summary.rowsAfter[table] ?? 0).leftPadded(8))")
            }
            for problem in summary.skipped.prefix(10) { print("  skipped \(terminalSafe(problem))") }
            for id in summary.missing.prefix(10) { print("  no raw body for threat \(id)") }
        }
        if summary.status == .partial { throw ExitCode(S1IngestExitCode.partial) }
    }
}
