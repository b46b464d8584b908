import Foundation
import S1IngestCore
import S1Testing
import S1MockConsole
import Testing

/// The README's example queries return rows on the data they name, and its column counts are right.
@Suite(.serialized) struct ReadmeExampleTests {
    static let readme: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("README.md").path) {
            url.deleteLastPathComponent()
        }
        return (try? String(contentsOf: url.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
    }()

    /// The text of the README from the heading `heading` to the next heading of the same or a higher level.
    static func section(_ heading: String) throws -> Substring {
        let start = try #require(readme.range(of: "\n\(heading)\n"))
        let level = heading.prefix { $0 == "#" }.count
        var end = readme.endIndex
        var search = start.upperBound
        while let next = readme.range(of: "\n#", range: search..<readme.endIndex) {
            let hashes = readme[readme.index(after: next.lowerBound)...].prefix { $0 == "#" }.count
            if hashes <= level, readme[readme.index(after: next.lowerBound)...].dropFirst(hashes).first == " " {
                end = next.lowerBound
                break
            }
            search = next.upperBound
        }
        return readme[start.upperBound..<end]
    }

    /// The statements of every ```sql block of `text`, comments removed.
    static func statements(in text: Substring) -> [String] {
        var result: [String] = []
        var rest = text
        while let open = rest.range(of: "```sql\n"), let close = rest[open.upperBound...].range(of: "```") {
            let block = rest[open.upperBound..<close.lowerBound]
            let code = block.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
            result += code.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            rest = rest[close.upperBound...]
        }
        return result
    }

    /// `set` imported into a new database in `scratch`, as `s1ingest import` would; its path.
    static func database(_ set: SyntheticAnalyses, in scratch: TemporaryDirectory) async throws -> String {
        let input = try scratch.file("set.ndjson", (0..<set.count).map { set.body($0) }.joined(separator: "\n") + "\n")
        let path = scratch.path("set.sqlite")
        _ = try await Importer(options: ImportOptions(databasePath: path, inputs: [input])).run()
        return path
    }

    /// "Questions you can ask" returns rows on `demo.sqlite`: what `s1ingest demo` stores
    /// (1,000 threats, seed 2026; the IDs, addresses and hashes do not depend on the day).
    @Test func questionsReturnRowsOnTheDemoDatabase() async throws {
        let text = try Self.section("## Questions you can ask")
        #expect(text.contains("demo.sqlite"), "the section says which data it was written for")
        let queries = Self.statements(in: text)
        #expect(queries.count >= 6)
        let scratch = try TemporaryDirectory()
        let path = try await Self.database(SyntheticAnalyses(count: 1000, seed: 2026, referenceTime: Int(time(nil))), in: scratch)
        let reader = try ReadOnlyDatabase(path: path)
        for sql in queries {
            let rows = try reader.database.query(sql)
            #expect(!rows.isEmpty, "no rows on demo.sqlite: \(sql)")
        }
    }

    /// The view examples return rows on the fixture they name (`s1ingest generate --count 3000`, seed 1).
    @Test func viewExamplesReturnRowsOnTheirFixture() async throws {
        let text = try Self.section("### Views")
        #expect(text.contains("s1ingest generate --count 3000"))
        let queries = Self.statements(in: text)
        #expect(queries.count >= 5)
        let scratch = try TemporaryDirectory()
        let path = try await Self.database(SyntheticAnalyses(count: 3000, seed: 1), in: scratch)
        let reader = try ReadOnlyDatabase(path: path)
        for sql in queries {
            #expect(try !reader.database.query(sql).isEmpty, "no rows: \(sql)")
        }
    }

    /// Every "`table` (N)" and "table (N columns)" in the README is the table's column count.
    @Test func columnCountsAreRight() throws {
        let database = try Database(path: ":memory:")
        try Migrator.migrate(database)
        var checked = 0
        for match in Self.readme.matches(of: /`(\w+)` \((\d+)\)|\b(\w+) \((\d+) columns\)/) {
            let name = String(match.1 ?? match.3 ?? "")
            let claimed = Int(match.2 ?? match.4 ?? "") ?? -1
            let actual = try database.query("SELECT count(*) FROM pragma_table_info(?)", [.text(name)]).first?.first?.integerValue
            guard let actual, actual > 0 else { continue }
            #expect(Int(actual) == claimed, "README says \(name) has \(claimed) columns; it has \(actual)")
            checked += 1
        }
        #expect(checked >= 3)
    }
}
