import CSV
import Foundation
import S1IngestCore
import S1Testing
import Testing

/// Cells a spreadsheet would run as formulas get a leading `'` unless `--raw-cells`.
@Suite struct FormulaInjectionTests {
    func exportedValues(_ path: String, format: ExportFormat = .csv, neutralise: Bool) throws -> [Int64: String] {
        let text = try exportToString(ExportJob(databasePath: path, target: .query("SELECT id, value FROM cells ORDER BY id"),
                                                options: ExportOptions(format: format, neutraliseFormulas: neutralise)))
        var values: [Int64: String] = [:]
        if format == .csv {
            let reader = try CSVReader(string: text, hasHeaderRow: true)
            while let row = reader.next() { values[Int64(row[0])!] = row[1] }
        } else {
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
                values[Int64(fields[0])!] = String(fields[1])
            }
        }
        return values
    }

    @Test func dangerousLeadingCharactersArePrefixed() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let values = try exportedValues(path, neutralise: true)
        #expect(values[9] == "'=1+2")
        #expect(values[10] == "'+cmd")
        #expect(values[11] == "'-2+3")
        #expect(values[12] == "'@SUM(A1)")
        #expect(values[13] == "'\tleading tab")
        #expect(values[14] == "'\rleading cr")
        #expect(values[16] == "'=HYPERLINK(\"http://x\",\"a,b\")")
        // Harmless cells are untouched.
        #expect(values[1] == "plain")
        #expect(values[15] == " leading space")
        #expect(values[7] == "")
    }

    @Test func rawCellsKeepsThemUnchanged() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let values = try exportedValues(path, neutralise: false)
        #expect(values[9] == "=1+2")
        #expect(values[12] == "@SUM(A1)")
        #expect(values[16] == "=HYPERLINK(\"http://x\",\"a,b\")")
    }

    @Test func tsvIsNeutralisedToo() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let values = try exportedValues(path, format: .tsv, neutralise: true)
        #expect(values[9] == "'=1+2")
        #expect(values[13] == "'\\tleading tab")
    }

    @Test func negativeNumbersAreNotText() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let text = try exportToString(ExportJob(databasePath: path, target: .query("SELECT number, -5 AS n FROM cells WHERE id = 1")))
        #expect(text == "number,n\r\n-1.5,-5\r\n")
    }

    @Test func headerNamesAreNeutralised() throws {
        let path = try TestDatabases.tricky()
        defer { TestDatabases.remove(path) }
        let text = try exportToString(ExportJob(databasePath: path, target: .query("SELECT 1 AS \"=cmd\"")))
        #expect(text == "'=cmd\r\n1\r\n")
    }
}
