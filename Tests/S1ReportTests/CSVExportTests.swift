import CSV
import Foundation
import S1IngestCore
import S1Testing
import Testing

/// CSV written by export, read back by an independent RFC 4180 reader (yaslab/CSV.swift).
@Suite struct CSVExportTests {
    @Test func rawCSVParsesBackToTheSQLResult() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let text = try exportToString(ExportJob(databasePath: path, target: .table("cells"),
                                                options: ExportOptions(format: .csv, neutraliseFormulas: false)))
        let reader = try CSVReader(string: text, hasHeaderRow: true)
        #expect(reader.headerRow == ["id", "value", "number"])
        var parsed: [[String]] = []
        while let row = reader.next() { parsed.append(row) }
        let expected = try TestDatabases.rows(path, "SELECT * FROM cells").map { $0.map { $0.textValue ?? "" } }
        #expect(parsed == expected)
        #expect(parsed.count == TestDatabases.trickyTexts.count)
    }

    @Test func recordsEndWithCRLFAndEmbeddedLineBreaksAreQuoted() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let text = try exportToString(ExportJob(databasePath: path, target: .query("SELECT id, value FROM cells WHERE id IN (1, 2, 3, 4, 5) ORDER BY id"),
                                                options: ExportOptions(format: .csv, neutraliseFormulas: false)))
        #expect(text == "id,value\r\n1,plain\r\n2,\"with,comma\"\r\n3,\"with \"\"quotes\"\" inside\"\r\n4,\"line one\nline two\"\r\n5,\"crlf\r\nend\"\r\n")
    }

    @Test func nullIsAnEmptyFieldAndEmptyStringIsTwoQuotes() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let text = try exportToString(ExportJob(databasePath: path, target: .query("SELECT id, value FROM cells WHERE id IN (7, 8) ORDER BY id")))
        #expect(text == "id,value\r\n7,\"\"\r\n8,\r\n")
    }

    @Test func unicodeIsWrittenAsUTF8() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let output = TestDatabases.temporaryPath("csv")
        defer { try? FileManager.default.removeItem(atPath: output) }
        try ExportJob(databasePath: path, target: .query("SELECT value FROM cells WHERE id = 6"), outputPath: output).run()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(bytes == Data("value\r\nunicode: Zürich 東京 🚀 naïve\r\n".utf8))
    }

    @Test func syntheticThreatsRoundTrip() async throws {
        let path = try await TestDatabases.synthetic(.init(count: 40, seed: 3, agentCount: 5))
        defer { TestDatabases.remove(path) }
        for name in ["threats", "mitigations", "raw_analyses"] {
            let text = try exportToString(ExportJob(databasePath: path, target: .table(name), options: ExportOptions(neutraliseFormulas: false)))
            let reader = try CSVReader(string: text, hasHeaderRow: true)
            var parsed: [[String]] = []
            while let row = reader.next() { parsed.append(row) }
            let expected = try TestDatabases.rows(path, "SELECT * FROM \(name)").map { $0.map { $0.textValue ?? "" } }
            #expect(parsed == expected, "table \(name)")
            #expect(!parsed.isEmpty)
        }
    }

    @Test func tsvEscapesAndJSONLinesKeepTypes() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let tsv = try exportToString(ExportJob(databasePath: path, target: .query("SELECT id, value FROM cells WHERE id IN (4, 7, 8, 17) ORDER BY id"),
                                               options: ExportOptions(format: .tsv, neutraliseFormulas: false)))
        #expect(tsv == "id\tvalue\n4\tline one\\nline two\n7\t\n8\t\n17\tback\\\\slash\\ttab\n")

        let jsonl = try exportToString(ExportJob(databasePath: path, target: .table("cells"), options: ExportOptions(format: .jsonl)))
        let lines = jsonl.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == TestDatabases.trickyTexts.count)
        let expected = try TestDatabases.rows(path, "SELECT * FROM cells")
        for (line, row) in zip(lines, expected) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((object["id"] as? NSNumber)?.int64Value == row[0].integerValue)
            switch row[1] {
            case .text(let text): #expect(object["value"] as? String == text)  // never neutralised in JSON
            default: #expect(object["value"] is NSNull)
            }
            if case .real(let number) = row[2] { #expect((object["number"] as? NSNumber)?.doubleValue == number) } else { #expect(object["number"] is NSNull) }
        }
        #expect(jsonl.hasPrefix("{\"id\":1,\"value\":\"plain\",\"number\":-1.5}\n"))
    }

    @Test func jsonArrayIsValidJSON() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let text = try exportToString(ExportJob(databasePath: path, target: .table("cells"), options: ExportOptions(format: .json)))
        let array = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(array.count == TestDatabases.trickyTexts.count)
        let empty = try exportToString(ExportJob(databasePath: path, target: .query("SELECT * FROM cells WHERE 0"), options: ExportOptions(format: .json)))
        #expect(empty == "[]\n")
    }

    @Test func allWritesOneFilePerTableAndView() async throws {
        let path = try await TestDatabases.synthetic(.init(count: 10, seed: 1))
        defer { TestDatabases.remove(path) }
        let directory = TestDatabases.temporaryPath("dir")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try ExportJob(databasePath: path, target: .all(directory: directory)).run()
        let reader = try ReadOnlyDatabase(path: path)
        let names = try reader.tableNames() + reader.viewNames()
        #expect(files.map(\.source) == names)
        #expect(names.contains("threat_overview") && names.contains("threats"))
        for file in files {
            #expect(FileManager.default.fileExists(atPath: file.path))
            #expect(file.path.hasSuffix("/\(file.source).csv"))
        }
        #expect(files.first { $0.source == "threats" }?.rows == 10)
    }
}
