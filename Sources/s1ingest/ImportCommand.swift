import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import S1IngestCore

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import threat analyses already on disk.",
        discussion: """
            Each FILE may hold a response body {"data": {...}}, newline-delimited bodies, a JSON array of bodies, or the Swimlane connector's action output. '-' reads standard input. Unusable documents are reported with file and line, counted and skipped; the rest still imports. Exit status 1 when anything was skipped, 2 when a file cannot be opened or the database cannot be used.
            """
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: "Analyses per committed transaction.")
    var batchSize = 4000

    @Flag(help: "Print the summary as JSON on standard output.")
    var json = false

    @OptionGroup var metrics: MetricsOption

    @Flag(name: .shortAndLong, help: "No progress line and no per-document warnings.")
    var quiet = false

    @Option(help: ArgumentHelp("The console the files came from: the name their threats and agents get in the database (default: default).", valueName: "name"))
    var console: String?

    @Argument(help: ArgumentHelp("Files to import ('-' for standard input).", valueName: "file"))
    var files: [String]

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
        if let console, console.wholeMatch(of: /[a-z0-9][a-z0-9_-]{0,62}/) == nil {
            throw ValidationError("--console takes a console name (lower case letters, digits, - and _, as in the consoles file), not '\(console)'")
        }
    }

    func run() async throws {
        // A file that cannot be opened at all is a failure of the run (exit 2), found before
        // anything is imported; documents that cannot be used inside a file are skipped.
        try runReportingErrors {
            for file in files where file != "-" {
                guard let handle = fopen(file, "r") else {
                    throw ImportInputError(file: file, reason: String(cString: strerror(errno)))
                }
                fclose(handle)
            }
        }
        var options = ImportOptions(databasePath: database.path, inputs: files, batchSize: batchSize)
        options.console = console
        let importer = Importer(options: options)
        let console = Console(quiet: quiet)
        var warned = 0
        importer.onProblem = { problem in
            warned += 1
            if warned <= 20 { console.warn("skipped \(problem)") }
            if warned == 21 { console.warn("(further problems are counted in the summary)") }
        }
        importer.onProgress = { progress in
            console.progress("\(progress.documentsRead) documents, \(progress.stored) stored, \(progress.problems) skipped, \(Int(Double(progress.analysesFound) / max(progress.elapsedSeconds, 0.001)))/s")
        }
        let summary = try await runReportingErrors {
            try await metrics.measuring(command: "import", databasePath: database.path) {
                try await importer.run()
            } metrics: { summary, started, duration in
                RunMetrics(command: "import", startedAt: started, durationSeconds: duration, status: summary.problemCount > 0 ? .partial : .ok,
                           counts: ["stored": summary.stored, "unchanged": summary.outcomes[.unchanged] ?? 0,
                                    "stale": summary.outcomes[.stale] ?? 0, "failed": summary.problemCount])
            }
        }
        console.clearProgress()
        if json {
            print(SummaryFormatter.json(summary, databasePath: database.path))
        } else {
            print(SummaryFormatter.text(summary, databasePath: database.path))
        }
        if summary.problemCount > 0 { throw ExitCode(S1IngestExitCode.partial) }
    }
}

/// An input file `import` cannot open.
struct ImportInputError: Error, CustomStringConvertible {
    let file: String
    let reason: String
    var description: String { "cannot open \(file): \(reason)" }
}
