import ArgumentParser
import Dispatch
import Foundation
import S1IngestCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a whole database into another (SQLite to PostgreSQL, or between any two --db kinds).",
        discussion: """
            Moves everything --from holds into --to: the consoles, every threat (stored again from its raw body through the normal write path, keeping its ingest times and console), each agent's latest state, the run history with its pacing, the queue, the sync watermarks and the learned paces. --from is opened read-only and never changed; --to is created and migrated when needed.

            Copying again changes nothing (the summary says "unchanged"): threats, queue rows, watermarks and consoles are matched by their keys, runs by command, start time and console. Threats are committed in batches: a copy stopped (Ctrl-C) or killed keeps what it committed, and the same command run again finishes it. A threat stored in --to for another console is reported as a conflict and left as it is; a newer version already in --to is kept. Threats without a raw body (pruned with --raw-only) cannot be copied and are counted.

              s1ingest copy --from threats.sqlite --to 'postgresql://s1@db.example.com/threats?sslmode=verify-full'

            The password comes from PGPASSWORD or the password file, never from the URL. Exit status: 0 copied (or unchanged), 1 partial (raw bodies that do not decode, conflicts, threats without a raw body), 2 failure, 4 another run holds --to, 130 interrupted.
            """
    )

    @Option(help: ArgumentHelp("The database to copy: a SQLite file or a postgresql:// URL (read-only).", valueName: "path"))
    var from: String

    @Option(help: ArgumentHelp("The database to copy into: a SQLite file or a postgresql:// URL (created or migrated when needed).", valueName: "path"))
    var to: String

    @Option(help: "Threats per committed transaction.")
    var batchSize = 2000

    @Flag(name: .shortAndLong, help: "No progress line.")
    var quiet = false

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let console = Console(quiet: quiet || json)
        let stop = StopRequest()
        let copier = Copier(from: StoreBackends.provider(for: from), to: StoreBackends.provider(for: to),
                            options: CopyOptions(batchSize: batchSize), stop: stop)
        copier.onProgress = { done, total in console.progress("copied \(done)/\(total) threats") }
        let signals = SignalTrap(stop: stop, message: "stopping after the batch being written is committed (signal again to quit at once; running the same copy again finishes it)")
        let summary = try runReportingErrors { () throws -> CopySummary in
            if !PostgresLocation.isPostgresURL(from), !FileManager.default.fileExists(atPath: from) {
                throw CopySourceMissing(path: from)
            }
            return try copier.run()
        }
        signals.release()
        console.clearProgress()
        if json {
            print(JSONOutput.line(summary, command: "copy"))
        } else {
            print(Self.text(summary))
        }
        switch summary.status {
        case "stopped": throw ExitCode(S1IngestExitCode.interrupted)
        case "partial": throw ExitCode(S1IngestExitCode.partial)
        default: return
        }
    }

    static func text(_ summary: CopySummary) -> String {
        func tally(_ name: String, _ tally: CopyTally) -> String {
            var text = "\(name): \(tally.copied) copied, \(tally.updated) updated, \(tally.unchanged) unchanged"
            if tally.conflicts > 0 { text += ", \(tally.conflicts) conflicts" }
            return text
        }
        let verdict = summary.status == "stopped" ? "stopped (run the same command again to finish)"
            : summary.changedNothing ? "unchanged (the destination already held everything)" : summary.status
        var lines = ["copy \(summary.from) -> \(summary.to): \(verdict) in \(String(format: "%.2f", summary.elapsedSeconds)) s"]
        let threats = summary.threatTally
        var threatLine = "  threats: \(threats.copied) copied, \(threats.updated) updated, \(threats.unchanged) unchanged, \(threats.conflicts) conflicts of \(summary.threats)"
        if summary.stale > 0 { threatLine += ", \(summary.stale) kept (newer in the destination)" }
        lines.append(threatLine)
        if summary.timesRestored > 0 { lines.append("  ingest times restored: \(summary.timesRestored)") }
        lines.append("  " + tally("consoles", summary.consoles))
        lines.append("  " + tally("runs", summary.runs))
        lines.append("  " + tally("queue rows", summary.queue))
        lines.append("  " + tally("watermarks", summary.watermarks))
        lines.append("  " + tally("learned paces", summary.paces))
        if summary.withoutRawBody > 0 {
            lines.append("  \(summary.withoutRawBody) threats have no raw body (pruned with --raw-only) and were not copied")
        }
        for problem in summary.skipped.prefix(10) { lines.append("  skipped \(terminalSafe(problem))") }
        for conflict in summary.conflictDetails.prefix(10) { lines.append("  conflict: \(terminalSafe(conflict))") }
        return lines.joined(separator: "\n")
    }
}

/// `--from` names a file that is not there.
struct CopySourceMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "no database at \(path) (--from): give the SQLite file or postgresql:// URL to copy from" }
}
