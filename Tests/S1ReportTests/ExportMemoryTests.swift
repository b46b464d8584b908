import Foundation
import S1IngestCore
import Testing

/// A large export streams: peak RSS grows by far less than the output's size.
@Suite struct ExportMemoryTests {
    @Test func exportingThreeHundredThousandRowsKeepsMemoryFlat() throws {
        let path = TestDatabases.temporaryPath()
        defer { TestDatabases.remove(path) }
        do {
            let database = try Database(path: path)
            try database.execute("""
                CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT, payload TEXT, amount REAL, note TEXT);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
                INSERT INTO big SELECT i, 'row "' || i || '", with comma', hex(randomblob(120)), i * 0.25,
                                       CASE WHEN i % 7 = 0 THEN NULL ELSE '=formula' || i END FROM n;
                """)
        }
        let output = TestDatabases.temporaryPath("csv")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let before = try #require(peakResidentKiB())
        let files = try ExportJob(databasePath: path, target: .table("big"), outputPath: output).run()
        let after = try #require(peakResidentKiB())
        let size = try #require(try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int)
        #expect(files.first?.rows == 300_000)
        #expect(size > 80_000_000)
        // Holding the rows (or the output) would add ~100 MB; streaming adds a buffer and
        // SQLite's page cache.
        #expect(after - before < 24 * 1024, "peak RSS grew by \(after - before) KiB for a \(size / 1_000_000) MB export")
    }
}
