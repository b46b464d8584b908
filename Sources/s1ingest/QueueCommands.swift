import ArgumentParser
import S1IngestCore

struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Add threat IDs to the queue without fetching them (then: s1ingest ingest --queue)."
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: ArgumentHelp("A file of threat IDs, one per line ('-' for stdin).", valueName: "file"))
    var ids: String

    func run() throws {
        let console = Console(quiet: false)
        let list = try runReportingErrors { try ThreatIDList.read(path: ids) }
        for line in list.invalid { console.warn("\(ids == "-" ? "stdin" : ids):\(line.line): skipped '\(line.text)': \(line.reason)") }
        try runReportingErrors {
            try database.store.openForWriting().enqueue(list.ids, runId: nil)
        }
        print("enqueued \(list.ids.count) IDs (\(list.duplicates) duplicates, \(list.invalid.count) bad lines skipped) into \(database.path)")
        if !list.invalid.isEmpty { throw ExitCode(S1IngestExitCode.partial) }
    }
}

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Show the queue: IDs by state and the most common errors."
    )

    @OptionGroup var database: DatabaseOption

    func run() throws {
        try runReportingErrors {
            let records = try database.store.openForReading()
            let counts = Dictionary(uniqueKeysWithValues: try records.queueCounts().map { ($0.state, $0.count) })
            print("queue in \(database.path):")
            for state in QueueState.allCases {
                print("  \(state.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(counts[state.rawValue] ?? 0)")
            }
            let errors = try records.queueTopErrors(limit: 5)
            if !errors.isEmpty {
                print("most common errors:")
                for error in errors { print("  \(String(error.count).leftPadded(6))  \(terminalSafe(error.error))") }
            }
        }
    }
}

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List recent ingest runs: when, what, how they ended."
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: "How many runs, newest first.")
    var limit = 20

    @Flag(help: "One JSON object per run.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let records = try database.store.openForReading()
            let runs = try records.recentRuns(limit: limit)
            let pacing = records.runPacing(runs.map(\.runId))
            if json {
                for run in runs { print(RunFormatter.json(run, pacing: pacing[run.runId])) }
            } else {
                print(RunFormatter.table(runs, pacing: pacing))
            }
        }
    }
}
