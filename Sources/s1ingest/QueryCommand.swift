import ArgumentParser
import S1IngestCore

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run one read-only SQL statement and print its rows.",
        discussion: """
            Prints an aligned table (at most --max-rows rows), or all rows as CSV (--csv) or a JSON array (--json). Statements that could change the database are refused.

            Example: s1ingest query "SELECT * FROM agent_exposure LIMIT 5"
            """
    )

    @OptionGroup var database: DatabaseOption

    @Flag(help: "Print CSV (RFC 4180, as export --format csv).")
    var csv = false

    @Flag(help: "Print a JSON array of objects.")
    var json = false

    @Option(help: "Rows shown in the table form.")
    var maxRows = 1000

    @Flag(help: "With --csv: no ' before text that looks like a spreadsheet formula.")
    var rawCells = false

    @Argument(help: ArgumentHelp("The SQL statement.", valueName: "sql"))
    var sql: String

    func validate() throws {
        if csv && json { throw ValidationError("choose --csv or --json, not both") }
        guard maxRows > 0 else { throw ValidationError("--max-rows must be at least 1") }
    }

    func run() throws {
        let style: QueryJob.Style = csv ? .csv : json ? .json : .table(maxRows: maxRows)
        let job = QueryJob(databasePath: database.path, sql: sql, style: style, neutraliseFormulas: !rawCells)
        _ = try runReportingErrors { try job.run(to: .standardOutput()) }
    }
}
