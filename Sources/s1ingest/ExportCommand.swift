import ArgumentParser
import S1IngestCore

extension ExportFormat: ExpressibleByArgument {}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a table, a view, a query's rows, or everything, as CSV, TSV or JSON lines.",
        discussion: """
            Reads the database read-only and streams rows, so any size exports in constant memory.

            CSV is RFC 4180: CRLF line ends; fields holding , " CR or LF are quoted; NULL is an empty field and the empty string is "". TSV escapes backslash, tab, LF and CR as \\\\ \\t \\n \\r. JSON lines: one object per row, NULL as null.

            --console NAME|URL keeps one console's rows: of tables and views with a console column, of tables keyed by a threat, agent or run of that console (mitigations, interfaces, ...); tables of no console (schema_migrations) are written whole. With --query, write the WHERE yourself.

            Text starting with = + - @ tab or CR gets a leading ' so spreadsheets do not run it as a formula (numbers and JSON are never changed); --raw-cells writes cells exactly as stored.
            """
    )

    @OptionGroup var database: DatabaseOption

    @Option(help: ArgumentHelp("Export this table.", valueName: "name"))
    var table: String?

    @Option(help: ArgumentHelp("Export this view.", valueName: "name"))
    var view: String?

    @Option(help: ArgumentHelp("Export the rows of this read-only SQL statement.", valueName: "sql"))
    var query: String?

    @Flag(help: "Export every table and view, one file each (NAME.FORMAT), into --dir.")
    var all = false

    @Option(help: ArgumentHelp("Directory for --all (created when missing).", valueName: "dir"))
    var dir: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Output file (default: standard output).", valueName: "file"))
    var output: String?

    @OptionGroup var consoleFilter: ConsoleFilterOption

    @Option(help: "Output format.")
    var format: ExportFormat = .csv

    @Flag(help: "Write cells exactly as stored: no ' before text that looks like a spreadsheet formula.")
    var rawCells = false

    @Flag(help: "Leave out the header row (csv, tsv).")
    var noHeader = false

    func validate() throws {
        let chosen = [table != nil, view != nil, query != nil, all].filter { $0 }.count
        guard chosen == 1 else { throw ValidationError("choose exactly one of --table, --view, --query, --all") }
        if all && dir == nil { throw ValidationError("--all needs --dir DIR") }
        if all && output != nil { throw ValidationError("--all writes into --dir; --output is for one table, view or query") }
        if !all && dir != nil { throw ValidationError("--dir goes with --all") }
        if query != nil && consoleFilter.console != nil {
            throw ValidationError("--console goes with --table, --view or --all; with --query, say which console in the statement (WHERE console = '...')")
        }
    }

    func run() throws {
        let target: ExportTarget
        if let table { target = .table(table) }
        else if let view { target = .view(view) }
        else if let query { target = .query(query) }
        else { target = .all(directory: dir ?? "") }
        let files = try runReportingErrors { () throws -> [ExportedFile] in
            let job = ExportJob(databasePath: database.path, target: target, outputPath: output,
                                options: ExportOptions(format: format, neutraliseFormulas: !rawCells, header: !noHeader),
                                console: try consoleFilter.storedName(in: database))
            return try job.run()
        }
        if all {
            for file in files { FileHandleOutput.standardError("\(file.path): \(file.rows) rows\n") }
        }
    }
}
