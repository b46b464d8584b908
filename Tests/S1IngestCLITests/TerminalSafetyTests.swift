import Foundation
import S1Testing
import Testing

/// Text from a console (threat names, computer names, error bodies) can hold ESC, BEL or BS:
/// shown on a terminal it is escaped, in JSON it stays exact.
@Suite struct TerminalSafetyTests {
    static let hostile = "SELECT 'name' || char(27) || '[2J' || char(7) || char(8) || 'end' AS x"

    @Test func queryAndTSVShowControlCharactersEscapedAndJSONKeepsThem() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = directory.path("t.sqlite")
        #expect(try await runBinary(["migrate", "--db", db]).status == 0)

        let table = try await runBinary(["query", "--db", db, Self.hostile])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("name\\x1b[2J\\x07\\x08end"), "\(table.stdout)")
        #expect(!table.stdout.contains("\u{1B}") && !table.stdout.contains("\u{07}") && !table.stdout.contains("\u{08}"))

        let tsv = try await runBinary(["export", "--db", db, "--format", "tsv", "--query", Self.hostile])
        #expect(tsv.status == 0, "\(tsv.stderr)")
        #expect(tsv.stdout.contains("name\\x1b[2J\\x07\\x08end"), "\(tsv.stdout)")
        #expect(!tsv.stdout.contains("\u{1B}"))

        let json = try await runBinary(["query", "--db", db, "--json", Self.hostile])
        #expect(json.status == 0, "\(json.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.first?["x"] as? String == "name\u{1B}[2J\u{07}\u{08}end")
    }
}
