import S1Storage
import S1Common
import S1JSON
import S1Model
import Foundation

/// Streams a statement's rows to an `OutputSink`: one row in memory at a time.
public enum Exporter {
    /// Runs `statement` to completion, writing every row in `options.format`. Returns the row count.
    @discardableResult
    public static func export(_ cursor: any ResultCursor, to sink: OutputSink, options: ExportOptions) throws -> Int {
        try exportRows(cursor, to: sink, options: options)
    }

    /// The loop, specialised per cursor type once the existential is opened.
    private static func exportRows<Cursor: ResultCursor>(_ statement: Cursor, to sink: OutputSink, options: ExportOptions) throws -> Int {
        defer { statement.reset() }
        var encoder = RowEncoder(options: options, columnNames: statement.columnNames)
        var buffer = ByteBuffer(capacity: OutputSink.flushThreshold + 64 * 1024)
        encoder.writePrologue(into: &buffer)
        var rows = 0
        while try statement.step() {
            encoder.writeRow(of: statement, into: &buffer)
            rows += 1
            if buffer.count >= OutputSink.flushThreshold {
                try sink.write(buffer.bytes)
                buffer.removeAll()
            }
        }
        encoder.writeEpilogue(into: &buffer)
        try sink.write(buffer.bytes)
        try sink.flush()
        return rows
    }
}

/// What `s1ingest export` writes.
public enum ExportTarget: Sendable, Equatable {
    /// Every row of one table.
    case table(String)
    /// Every row of one view.
    case view(String)
    /// The rows of one read-only SQL statement.
    case query(String)
    /// One file per table and view, named `NAME.FORMAT`, in `directory` (created when missing).
    case all(directory: String)
}

/// One file (or standard output) written by an export.
public struct ExportedFile: Sendable, Equatable {
    /// The table or view, or `query`.
    public let source: String
    /// The file path, or `-` for standard output.
    public let path: String
    public let rows: Int
}

/// An export run: open the database read-only, write the target, report what was written.
public struct ExportJob: Sendable {
    public var databasePath: String
    public var target: ExportTarget
    /// The output file; nil for standard output (ignored for `.all`).
    public var outputPath: String?
    public var options: ExportOptions
    /// Only this console's rows (its name, `consoles.console`); nil for every row. See
    /// `consoleCondition(table:columns:)` for which rows of each table and view that is.
    /// Refused with `.query` (`ExportError.consoleWithQuery`).
    public var console: String?

    public init(databasePath: String, target: ExportTarget, outputPath: String? = nil, options: ExportOptions = ExportOptions(),
                console: String? = nil) {
        self.databasePath = databasePath
        self.target = target
        self.outputPath = outputPath
        self.options = options
        self.console = console
    }

    /// Writes the export. Unknown names fail before any output file is created.
    @discardableResult
    public func run(reader: any StoreReader) throws -> [ExportedFile] {
        switch target {
        case .table(let name):
            return [try write(rows(reader.selectAll(table: name), of: name, reader: reader), source: name)]
        case .view(let name):
            return [try write(rows(reader.selectAll(view: name), of: name, reader: reader), source: name)]
        case .query(let sql):
            if console != nil { throw ExportError.consoleWithQuery }
            return [try write(reader.query(sql), source: "query")]
        case .all(let directory):
            guard !directory.isEmpty else { throw ExportError.directoryRequired }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ExportError.cannotCreate(path: directory, reason: "\(error.localizedDescription)")
            }
            var files: [ExportedFile] = []
            for name in try reader.tableNames() {
                files.append(try write(rows(reader.selectAll(table: name), of: name, reader: reader), source: name, to: filePath(directory, name)))
            }
            for name in try reader.viewNames() {
                files.append(try write(rows(reader.selectAll(view: name), of: name, reader: reader), source: name, to: filePath(directory, name)))
            }
            return files
        }
    }

    /// `all` (every row of table or view `name`, its name checked), or with `console` only
    /// that console's rows: still one streaming statement.
    private func rows(_ all: any ResultCursor, of name: String, reader: any StoreReader) throws -> any ResultCursor {
        guard let console, let condition = Self.consoleCondition(table: name, columns: all.columnNames) else { return all }
        all.reset()
        let quoted = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        return try reader.query("SELECT * FROM \(quoted) WHERE \(condition)", [.text(console)])
    }

    /// The SQL condition (on ?1, the console's name) that keeps one console's rows of table or
    /// view `table` with `columns`: its `console` column (`console_pace`: the console's URL);
    /// else its threat's console (`threat_id`), its agent's (`agent_id`) or its run's (`run_id`).
    /// Nil for a table that belongs to no console (`schema_migrations`): all its rows are kept.
    package static func consoleCondition(table: String, columns: [String]) -> String? {
        if table == "console_pace" { return "console IN (SELECT url FROM consoles WHERE console = ?1)" }
        if columns.contains("console") { return "console = ?1" }
        if columns.contains("threat_id") { return "threat_id IN (SELECT threat_id FROM threats WHERE console = ?1)" }
        if columns.contains("agent_id") { return "agent_id IN (SELECT agent_id FROM agents WHERE console = ?1)" }
        if columns.contains("run_id") { return "run_id IN (SELECT run_id FROM ingest_runs WHERE console = ?1)" }
        return nil
    }

    private func filePath(_ directory: String, _ name: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent("\(name).\(options.format.fileExtension)").path
    }

    private func write(_ statement: any ResultCursor, source: String, to path: String? = nil) throws -> ExportedFile {
        let path = path ?? outputPath
        let sink = try path.map { try OutputSink(creatingFile: $0) } ?? OutputSink.standardOutput()
        let rows = try Exporter.export(statement, to: sink, options: options)
        return ExportedFile(source: source, path: sink.name, rows: rows)
    }
}
