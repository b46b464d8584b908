import Foundation
import Testing
import S1IngestCore
import S1MockConsole
import S1Testing
@testable import S1Postgres

/// The writer's `COPY ... FROM STDIN` rows (new threats, new raw bodies, threat children): the
/// binary format, the text format's escapes, and the same values as the binary arrays of the
/// upserts in both.
@Suite(.serialized) struct PostgresCopyTests {
    private func text(_ build: (inout PGCopyText) -> Void) -> String {
        var copy = PGCopyText()
        build(&copy)
        return String(decoding: copy.bytes, as: UTF8.self)
    }

    private func value(_ text: String, _ element: PGArrayBuilder.Element) -> String {
        let arena = Array(text.utf8)
        return self.text { copy in
            arena.withUnsafeBytes { copy.append(.text(start: 0, count: Int32(arena.count)), element, arena: $0) }
        }
    }

    @Test func valuesAreEscapedAndConvertedAsTheArraysConvertThem() {
        #expect(text { $0.appendText("a\tb\nc\\d\re\u{0}f"); $0.appendNull(); $0.endRow() } == "a\\tb\\nc\\\\d\\ref\t\\N\n")
        #expect(text { copy in
            for number: Int64 in [0, 7, -5, .max, .min] { copy.append(.integer(number), .bigint, arena: UnsafeRawBufferPointer(start: nil, count: 0)) }
        } == "0\t7\t-5\t9223372036854775807\t-9223372036854775808")
        #expect(text { copy in
            copy.append(.integer(1), .boolean, arena: UnsafeRawBufferPointer(start: nil, count: 0))
            copy.append(.integer(0), .boolean, arena: UnsafeRawBufferPointer(start: nil, count: 0))
            copy.append(.integer(12), .text, arena: UnsafeRawBufferPointer(start: nil, count: 0))
        } == "t\tf\t12")
        #expect(value("42", .bigint) == "42")
        #expect(value("4x", .bigint) == "\\N")
        #expect(value("true", .boolean) == "\\N")
        #expect(value("2024-03-05 10:00:00", .timestamp) == "\\N")
        #expect(value("2024-03-05T10:11:12.131415Z", .timestamp) == "2024-03-05 10:11:12.131415+00")
    }

    @Test func timestampsAreTheInstantsTheBinaryArraysSend() throws {
        let cluster = try PostgresCluster.shared
        // 31 February and a leap second roll over, as the binary form's arithmetic does; year 0 is 1 BC.
        for stored in ["2024-03-05T10:11:12.131415Z", "2024-02-31T23:00:00.000000Z", "2016-12-31T23:59:60.500000Z",
                       "0000-01-01T00:00:00.000000Z", "1999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:60.000000Z", "1970-01-01T00:00:00.000001Z"] {
            let micros = try #require(Array(stored.utf8).withUnsafeBytes { PGBinaryFields.microsSince2000($0) })
            let literal = value(stored, .timestamp)
            let server = try cluster.psql("postgres", "SELECT (extract(epoch FROM '\(literal)'::timestamptz) * 1000000)::bigint - 946684800000000")
            #expect(server == String(micros), "\(stored) sent as \(literal)")
        }
    }

    @Test func aFlightRunsItsStepsInOrderAndStopsAtTheFirstError() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let connection = try PGConnection.open(try PostgresLocation(url: cluster.url(database)), environment: cluster.environment)
        defer { connection.close() }
        var rows = PGCopyText()
        for (name, number) in [("tab\there", 1), ("line\nbreak \\ back", 2), ("plain", 3)] {
            rows.appendText(name)
            rows.append(.integer(Int64(number)), .bigint, arena: UnsafeRawBufferPointer(start: nil, count: 0))
            rows.endRow()
        }
        try PGFlight([.query("CREATE TABLE t (name text, n bigint PRIMARY KEY)"), .copy(table: "t", columns: ["name", "n"], data: rows.buffer()),
                      .query("INSERT INTO t VALUES ('after', 4)")], on: connection).wait(location: connection.location)
        #expect(try cluster.psql(database, "SELECT string_agg(format('%s=%s', n, name), '|' ORDER BY n) FROM t")
                == "1=tab\there|2=line\nbreak \\ back|3=plain|4=after")
        // A COPY that fails (a key already there): its error, and nothing after it runs.
        let flight = PGFlight([.copy(table: "t", columns: ["name", "n"], data: rows.buffer()), .query("INSERT INTO t VALUES ('late', 5)")], on: connection)
        #expect(throws: PostgresStoreError.self) { try flight.wait(location: connection.location) }
        do {
            try flight.wait(location: connection.location)
        } catch {
            #expect("\(error)".contains("duplicate key"), "\(error)")
        }
        #expect(try cluster.psql(database, "SELECT count(*) FROM t") == "4")
    }

    @Test func aBodyWithTabsNewlinesAndBackslashesIsStoredAsReceived() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        // One document over several lines (a JSON file, not NDJSON), indented with tabs, with
        // escapes in a string.
        let compact = SyntheticAnalyses(count: 1, seed: 5).body(0)
        let body = compact.replacingOccurrences(of: "{\"data\":", with: "{\n\t\"data\":\n\t\t")
            .replacingOccurrences(of: "\"threatName\":\"", with: "\"threatName\":\"C:\\\\temp\\\\x\\t\\\"q\\\" ")
        #expect(body != compact && body.contains("\\\\temp"))
        let path = try directory.file("a.json", body)
        let summary = try await Importer(options: ImportOptions(databasePath: cluster.url(database), inputs: [path]), store: cluster.provider(database)).run()
        #expect(summary.outcomes[.inserted] == 1, "\(summary)")
        let literal = "'" + body.replacingOccurrences(of: "'", with: "''") + "'"
        #expect(try cluster.psql(database, "SELECT count(*) FROM raw_analyses WHERE body::text = \(literal)") == "1")
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats WHERE starts_with(threat_name, 'C:\\temp\\x' || chr(9) || '\"q\" ')") == "1")
    }

    /// A binary COPY through postgres-nio's `copyFrom` (which offers the text format only): the
    /// server reads the rows as binary, every type the writer sends comes back as sent (text
    /// with tabs, newlines and backslashes as they are, NUL dropped; numbers, booleans, times,
    /// json, NULL), and a value the column cannot take is NULL, as in the text format.
    @Test func aBinaryCopyStoresEveryTypeAsSent() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let connection = try PGConnection.open(try PostgresLocation(url: cluster.url(database)), environment: cluster.environment)
        defer { connection.close() }
        var rows = PGCopyBinary()
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        func row(_ name: String, _ number: FlatValue, _ flag: FlatValue, _ at: String?, _ body: String) {
            rows.beginRow(fieldCount: 5)
            rows.appendText(name)
            rows.append(number, .bigint, arena: none)
            rows.append(flag, .boolean, arena: none)
            let arena = Array((at ?? "").utf8)
            arena.withUnsafeBytes { rows.append(at == nil ? .null : .text(start: 0, count: Int32(arena.count)), .timestamp, arena: $0) }
            rows.appendText(body)
        }
        row("tab\there \\ back\nline\u{0}", .integer(1), .integer(1), "2024-03-05T10:11:12.131415Z", #"{"data": {"a": [1, "x\ty"]}}"#)
        row("", .integer(.min), .integer(0), "2024-03-05 10:11:12", "[]")
        row("плюс ✓", .null, .null, nil, "null")
        try PGFlight([.query("CREATE TABLE t (name text, n bigint, flag boolean, at timestamptz, body json)"),
                      .copy(table: "t", columns: ["name", "n", "flag", "at", "body"], data: rows.buffer(), binary: true)],
                     on: connection).wait(location: connection.location)
        let stored = try cluster.psql(database, """
            SELECT string_agg(format('%s|%s|%s|%s|%s', name, coalesce(n::text, 'NULL'), coalesce(flag::text, 'NULL'),
                                     coalesce(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), 'NULL'), body::text), '~' ORDER BY n NULLS LAST)
            FROM t
            """)
        #expect(stored == "|-9223372036854775808|false|NULL|[]~tab\there \\ back\nline|1|true|2024-03-05 10:11:12.131415|{\"data\": {\"a\": [1, \"x\\ty\"]}}~плюс ✓|NULL|NULL|NULL|null")
    }

    /// A table whose column types were changed by hand (here a bigint made integer, which the
    /// binary format would send as the wrong width) is written by COPY's text format instead:
    /// the import still stores every row.
    @Test func aTableWithAnotherColumnTypeGoesByTheTextFormat() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        _ = try cluster.provider(database).openForWriting()
        _ = try cluster.psql(database, "ALTER TABLE engines ALTER COLUMN position TYPE integer")
        let set = SyntheticAnalyses(count: 20, seed: 9)
        let path = try directory.file("a.ndjson", (0 ..< 20).map { set.body($0) }.joined(separator: "\n"))
        let summary = try await Importer(options: ImportOptions(databasePath: cluster.url(database), inputs: [path]), store: cluster.provider(database)).run()
        #expect(summary.outcomes[.inserted] == 20, "\(summary)")
        let lite = try await importFiles([path], into: directory.path("lite.sqlite"))
        #expect(summary.rowCounts.map(\.rows) == lite.rowCounts.map(\.rows))
        #expect(try cluster.psql(database, "SELECT count(*) FROM engines") == String(lite.rowCounts.first { $0.table == "engines" }?.rows ?? -1))
    }
}
