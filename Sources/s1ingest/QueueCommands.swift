import ArgumentParser
import S1IngestCore

struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Add threat IDs to the queue without fetching them (then: s1ingest ingest --queue)."
    )

    @OptionGroup var database: DatabaseOption
    @OptionGroup var consoleFilter: ConsoleFilterOption

    @Option(help: ArgumentHelp("A file of threat IDs, one per line ('-' for stdin).", valueName: "file"))
    var ids: String

    func run() throws {
        let console = Console(quiet: false)
        let list = try runReportingErrors { try ThreatIDList.read(path: ids) }
        for line in list.invalid { console.warn("\(ids == "-" ? "stdin" : ids):\(line.line): skipped '\(line.text)': \(line.reason)") }
        let target = try runReportingErrors { () throws -> ConsoleRef in
            let store = try database.store.openForWriting()
            // The IDs belong to one console: `ingest --queue --console` of that console drains them.
            let target: ConsoleRef
            do {
                let chosen = try consoleFilter.required(among: try store.consoles(), command: "enqueue")
                target = try store.registerConsole(name: chosen.name, url: chosen.url)
            } catch ConsoleStoreError.unknown(let given, _) where given.contains("://") {
                // A console not seen yet, by its URL (a new database; the workers that drain
                // it will fetch from there): it gets its name as `ingest` would give it.
                target = try store.registerConsole(name: nil, url: given)
            }
            try store.enqueue(list.ids, console: target.name, runId: nil)
            return target
        }
        print("enqueued \(list.ids.count) IDs for console \(target.name) (\(list.duplicates) duplicates, \(list.invalid.count) bad lines skipped) into \(database.path)")
        if !list.invalid.isEmpty { throw ExitCode(S1IngestExitCode.partial) }
    }
}

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Show the queue: IDs by state and the most common errors."
    )

    @OptionGroup var database: DatabaseOption
    @OptionGroup var consoleFilter: ConsoleFilterOption

    func run() throws {
        try runReportingErrors {
            let records = try database.store.openForReading()
            let known = try records.consoles()
            let console = try consoleFilter.name(among: known)
            let counts = Dictionary(uniqueKeysWithValues: try records.queueCounts(console: console).map { ($0.state, $0.count) })
            print("queue in \(database.path)\(console.map { " (console \($0))" } ?? ""):")
            for state in QueueState.allCases {
                print("  \(state.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(counts[state.rawValue] ?? 0)")
            }
            // Several consoles: each one's pending and failed IDs.
            if console == nil, known.count > 1 {
                print("by console:")
                for record in known {
                    let mine = Dictionary(uniqueKeysWithValues: try records.queueCounts(console: record.name).map { ($0.state, $0.count) })
                    let line = QueueState.allCases.map { "\($0.rawValue) \(mine[$0.rawValue] ?? 0)" }.joined(separator: ", ")
                    print("  \(record.name.padding(toLength: max(10, record.name.count), withPad: " ", startingAt: 0)) \(line)")
                }
            }
            let errors = try records.queueTopErrors(limit: 5, console: console)
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
    @OptionGroup var consoleFilter: ConsoleFilterOption

    @Option(help: "How many runs, newest first.")
    var limit = 20

    @Flag(help: "One JSON object per run.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let records = try database.store.openForReading()
            let runs = try records.recentRuns(limit: limit, console: try consoleFilter.name(among: try records.consoles()))
            let pacing = records.runPacing(runs.map(\.runId))
            if json {
                for run in runs { print(RunFormatter.json(run, pacing: pacing[run.runId])) }
            } else {
                print(RunFormatter.table(runs, pacing: pacing))
            }
        }
    }
}
