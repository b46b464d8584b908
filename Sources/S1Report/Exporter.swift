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

    public init(databasePath: String, target: ExportTarget, outputPath: String? = nil, options: ExportOptions = ExportOptions()) {
        self.databasePath = databasePath
        self.target = target
        self.outputPath = outputPath
        self.options = options
    }

    /// Writes the export. Unknown names fail before any output file is created.
    @discardableResult
    public func run(reader: any StoreReader) throws -> [ExportedFile] {
        switch target {
        case .table(let name):
            return [try write(reader.selectAll(table: name), source: name)]
        case .view(let name):
            return [try write(reader.selectAll(view: name), source: name)]
        case .query(let sql):
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
                files.append(try write(reader.selectAll(table: name), source: name, to: filePath(directory, name)))
            }
            for name in try reader.viewNames() {
                files.append(try write(reader.selectAll(view: name), source: name, to: filePath(directory, name)))
            }
            return files
        }
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
