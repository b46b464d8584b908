import Foundation
import S1IngestCore
import S1Testing
import S1MockConsole

/// Temporary databases for the reporting tests.
enum TestDatabases {
    /// A fresh path in the temporary directory (nothing created).
    static func temporaryPath(_ suffix: String = "sqlite") -> String {
        directory.path("\(UUID().uuidString).\(suffix)")
    }

    /// Where the reporting tests' files go (one directory for the test process).
    static let directory = try! TemporaryDirectory(prefix: "s1report")

    /// Removes a database and its WAL files.
    static func remove(_ path: String) {
        for extra in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + extra) }
    }

    /// Imports `set` through the real importer; returns the database path.
    static func synthetic(_ set: SyntheticAnalyses) async throws -> String {
        let input = temporaryPath("ndjson")
        defer { try? FileManager.default.removeItem(atPath: input) }
        let text = (0..<set.count).map { set.body($0) }.joined(separator: "\n") + "\n"
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        let path = temporaryPath()
        _ = try await Importer(options: ImportOptions(databasePath: path, inputs: [input])).run()
        return path
    }

    /// Cells that are hard to write as CSV, by id.
    static let trickyTexts: [(id: Int64, value: String?)] = [
        (1, "plain"),
        (2, "with,comma"),
        (3, "with \"quotes\" inside"),
        (4, "line one\nline two"),
        (5, "crlf\r\nend"),
        (6, "unicode: Zürich 東京 🚀 naïve"),
        (7, ""),
        (8, nil),
        (9, "=1+2"),
        (10, "+cmd"),
        (11, "-2+3"),
        (12, "@SUM(A1)"),
        (13, "\tleading tab"),
        (14, "\rleading cr"),
        (15, " leading space"),
        (16, "=HYPERLINK(\"http://x\",\"a,b\")"),
        (17, "back\\slash\ttab"),
    ]

    /// A plain database with one table `cells(id, value, number)` of `trickyTexts`.
    static func tricky() throws -> String {
        let path = temporaryPath()
        let database = try Database(path: path)
        try database.execute("CREATE TABLE cells (id INTEGER PRIMARY KEY, value TEXT, number REAL)")
        let insert = try database.prepare("INSERT INTO cells (id, value, number) VALUES (?, ?, ?)")
        for (id, value) in trickyTexts {
            try insert.run([.integer(id), value.sqlValue, id % 3 == 0 ? .null : .real(Double(id) * -1.5)])
        }
        return path
    }

    /// The whole result of `sql` as SQL values.
    static func rows(_ path: String, _ sql: String) throws -> [[SQLValue]] {
        try ReadOnlyDatabase(path: path).database.query(sql)
    }
}

/// The process's peak resident set size (VmHWM) in KiB, from /proc/self/status.
func peakResidentKiB() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }
    return nil
}

/// Runs an export into a string.
func exportToString(_ job: ExportJob) throws -> String {
    var job = job
    let output = TestDatabases.temporaryPath("out")
    defer { try? FileManager.default.removeItem(atPath: output) }
    job.outputPath = output
    try job.run()
    return try String(contentsOfFile: output, encoding: .utf8)
}
