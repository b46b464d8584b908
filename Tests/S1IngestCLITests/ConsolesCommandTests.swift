import Foundation
import Testing
import S1IngestCore
import S1Testing
import S1MockConsole

/// `sync --consoles FILE` and `--console` as a user runs them: the release-shaped binary, a
/// TOML file, token files, two mock consoles on their own loopback ports.
@Suite struct ConsolesCommandTests {
    /// A consoles file naming `consoles` (name, URL, token), each token in a file of its own.
    static func consolesFile(_ consoles: [(name: String, url: String, token: String)], in directory: TemporaryDirectory,
                             extra: String = "") throws -> String {
        var text = "# two regions\n"
        for console in consoles {
            let tokenPath = directory.path("\(console.name).token")
            try (console.token + "\n").write(toFile: tokenPath, atomically: true, encoding: .utf8)
            chmod(tokenPath, 0o600)
            text += "[consoles.\(console.name)]\nurl = \"\(console.url)\"\ntoken_file = \"\(console.name).token\"\nconcurrency = 4\n\n"
        }
        let path = directory.path("consoles.toml")
        try (text + extra).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func syncOfTwoConsolesPrintsEachAndATotalAndTheQueueShowsEach() async throws {
        let directory = try TemporaryDirectory()
        let (east, eastSet) = try await startMock(count: 60, seed: 1, token: "east-token")
        let (west, westSet) = try await startMock(count: 40, seed: 2, token: "west-token", idBase: 1_000_000)
        defer { Task { try? await east.shutdown(); try? await west.shutdown() } }
        let file = try Self.consolesFile([("east", east.baseURL, "east-token"), ("west", west.baseURL, "west-token")], in: directory)
        let db = directory.path("all.sqlite")
        let sync = try await runBinary(["sync", "--consoles", file, "--db", db, "--since", "2020-01-01", "--json", "--quiet"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(sync.stdout.utf8)) as? [String: Any], "\(sync.stdout)")
        #expect(summary["status"] as? String == "ok")
        let consoles = try #require(summary["consoles"] as? [[String: Any]])
        #expect(consoles.map { $0["name"] as? String } == ["east", "west"])
        #expect(consoles.compactMap { ($0["sync"] as? [String: Any])?["stored"] as? Int } == [60, 40])
        #expect((summary["total"] as? [String: Any])?["stored"] as? Int == 100)
        #expect(eastSet.count == 60 && westSet.count == 40)

        let again = try await runBinary(["sync", "--consoles", file, "--db", db, "--only", "west"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("console west ("), "\(again.stdout)")
        #expect(!again.stdout.contains("console east ("), "\(again.stdout)")
        #expect(again.stdout.contains("total: 1 consoles"), "\(again.stdout)")

        let runs = try await runBinary(["runs", "--db", db, "--console", "east", "--json"])
        #expect(runs.status == 0, "\(runs.stderr)")
        #expect(runs.stdout.split(separator: "\n").allSatisfy { $0.contains("\"console\":\"east\"") }, "\(runs.stdout)")
        let byURL = try await runBinary(["runs", "--db", db, "--console", west.baseURL])
        #expect(byURL.stdout.contains(" west "), "\(byURL.stdout)")
        #expect(!byURL.stdout.contains(" east "), "\(byURL.stdout)")
        let queue = try await runBinary(["queue", "--db", db])
        #expect(queue.stdout.contains("by console:"), "\(queue.stdout)")

        // enqueue needs to know which console's queue: the database holds two.
        let ids = directory.path("ids.txt")
        try westSet.threatId(0).write(toFile: ids, atomically: true, encoding: .utf8)
        let unnamed = try await runBinary(["enqueue", "--db", db, "--ids", ids])
        #expect(unnamed.status == 64, "\(unnamed.stderr)")
        #expect(unnamed.stderr.contains("'east', 'west'"), "\(unnamed.stderr)")
        let unknown = try await runBinary(["runs", "--db", db, "--console", "north"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("no console 'north'"), "\(unknown.stderr)")
        let named = try await runBinary(["enqueue", "--db", db, "--ids", ids, "--console", "west"])
        #expect(named.status == 0, "\(named.stderr)")
        let drain = try await runBinary(["ingest", "--db", db, "--consoles", file, "--console", "west", "--queue", "--json", "--quiet"])
        #expect(drain.status == 0, "\(drain.stderr)")
        #expect(drain.stdout.contains("\"requested\":1"), "\(drain.stdout)")
        #expect(drain.stdout.contains("\"console\":\"west\""), "\(drain.stdout)")
    }

    @Test func aTokenOthersMayReadAndABadValueAreRefusedWithTheFilesLine() async throws {
        let directory = try TemporaryDirectory()
        let (east, _) = try await startMock(count: 5, seed: 1, token: "east-token")
        defer { Task { try? await east.shutdown() } }
        let file = try Self.consolesFile([("east", east.baseURL, "east-token")], in: directory, extra: "[consoles.west]\nurl = \"http://127.0.0.1:9\"\ntoken_file = \"west.token\"\nrate = -1\n")
        let db = directory.path("bad.sqlite")
        let bad = try await runBinary(["sync", "--consoles", file, "--db", db])
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("consoles.toml:"), "\(bad.stderr)")
        #expect(bad.stderr.contains("rate"), "\(bad.stderr)")

        let fixed = try Self.consolesFile([("east", east.baseURL, "east-token"), ("west", "http://127.0.0.1:9", "west-token")], in: directory)
        chmod(directory.path("west.token"), 0o644)
        let open = try await runBinary(["sync", "--consoles", fixed, "--db", db, "--since", "2020-01-01"])
        // East is synced; west is refused for its token file, and the run says so.
        #expect(open.status == 2, "\(open.stderr)")
        #expect(open.stderr.contains("chmod 600"), "\(open.stderr)")
        #expect(open.stdout.contains("console east (") && open.stdout.contains(": ok"), "\(open.stdout)")
        #expect(open.stdout.contains("console west ("), "\(open.stdout)")
        #expect(!open.stdout.contains("west-token") && !open.stderr.contains("west-token"))
    }
}
