import Foundation
import S1IngestCore
import S1Testing
import S1MockConsole
import Testing

/// Issue 11, items 7–9: one grammar for time options, one style for errors, one JSON
/// vocabulary, help wrapped once.
@Suite struct TimeAndErrorGrammarTests {
    static let token = "cli-grammar-secret-token-51c0"

    /// A database holding `count` synthetic threats (created in 2023, sites "Site N").
    func database(_ directory: TemporaryDirectory, count: Int = 20) async throws -> String {
        let input = directory.path("in.ndjson")
        let set = SyntheticAnalyses(count: count, seed: 3)
        try (0..<count).map { set.body($0) }.joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let db = directory.path("g.sqlite")
        let result = try await runBinary(["import", "--db", db, "--quiet", input])
        #expect(result.status == 0, "\(result.stderr)")
        return db
    }

    func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    // MARK: item 7

    @Test func pruneOlderThanBareMIsRefusedAsAmbiguousAndDeletesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await database(directory)
        let result = try await runBinary(["prune", "--db", db, "--older-than", "1m"])
        #expect(result.status == 64, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("ambiguous") && result.stderr.contains("1min"), "\(result.stderr)")
        #expect(try StoreOpener.openForReading(path: db).scalar("SELECT count(*) FROM threats") == .integer(20))
        // Minutes are spelled min.
        let minutes = try await runBinary(["prune", "--db", db, "--older-than", "1min", "--dry-run"])
        #expect(minutes.status == 0, "\(minutes.stderr)")
    }

    @Test func reportSinceTakesDurationsAndOffsetsAsSyncDoes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await database(directory)
        let recent = try await runBinary(["report", "--db", db, "threats-per-day", "--since", "7d"])
        #expect(recent.status == 0, "\(recent.stderr)")
        #expect(recent.stdout.contains("(no rows)"), "\(recent.stdout)")
        let all = try await runBinary(["report", "--db", db, "threats-per-day", "--since", "2020-01-01T02:00:00+02:00"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(!all.stdout.contains("(no rows)"), "\(all.stdout)")
        #expect(try await runBinary(["report", "--db", db, "--since", "1m"]).status == 64)
    }

    @Test(arguments: ["2023-13-01", "2026-13-45", "2026-02-30", "2026-01-31T25:00:00Z"])
    func impossibleDatesAreUsageErrorsEverywhereAndNeverSent(date: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, _) = try await startMock(count: 3, seed: 4, token: Self.token)
        defer { Task { try? await console.shutdown() } }
        let env = ["S1_API_TOKEN": Self.token, "S1_CONSOLE_URL": console.baseURL]
        let db = directory.path("d.sqlite")
        let sync = try await runBinary(["sync", "--db", db, "--since", date], environment: env)
        #expect(sync.status == 64, "sync --since \(date): \(sync.stderr)")
        #expect(console.listRequests == 0)
        let report = try await runBinary(["report", "--db", db, "--since", date])
        #expect(report.status == 64, "report --since \(date): \(report.stderr)")
        #expect(report.stdout.isEmpty)
    }

    // MARK: item 8

    @Test func unknownReportNameIsAUsageErrorListingTheReports() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await database(directory, count: 2)
        let result = try await runBinary(["report", "--db", db, "top-agent"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("top-agents"))
    }

    @Test func usageErrorsReadLikeEveryOtherErrorAndExit64() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await database(directory, count: 2)
        for arguments in [["sync", "--db", db, "--bogus"], ["prune", "--db", db, "--older-than", "1m"], ["nosuchcommand"],
                          ["export", "--db", db, "--table", "threat"], ["export", "--db", db, "--view", "overview"]] {
            let result = try await runBinary(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("s1ingest: error: "), "\(arguments): \(result.stderr)")
        }
        // Not being able to write a file is not a usage error.
        let unwritable = try await runBinary(["generate", "--count", "1", "-o", directory.path("no/such/dir/x.json")])
        #expect(unwritable.status == 2, "\(unwritable.stderr)")
        #expect(unwritable.stderr.hasPrefix("s1ingest: error: cannot create "), "\(unwritable.stderr)")
    }

    @Test func siteNamingNoKnownSiteWarnsAndListsTheKnownOnes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await database(directory)
        let known = try #require(try StoreOpener.openForReading(path: db)
            .scalar("SELECT site_name FROM threat_overview WHERE site_name IS NOT NULL LIMIT 1").textValue)
        let result = try await runBinary(["report", "--db", db, "top-agents", "--site", "No Such Site"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("s1ingest: warning: no site named 'No Such Site'"), "\(result.stderr)")
        #expect(result.stderr.contains(known), "\(result.stderr)")
        let quiet = try await runBinary(["report", "--db", db, "top-agents", "--site", known])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
    }

    @Test func importOfAMissingFileExitsTwo() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let result = try await runBinary(["import", "--db", directory.path("m.sqlite"), directory.path("missing.json")])
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.hasPrefix("s1ingest: error: cannot open \(directory.path("missing.json"))"), "\(result.stderr)")
    }

    @Test func migrateIntoAMissingDirectorySaysTheDirectoryDoesNotExist() async throws {
        let result = try await runBinary(["migrate", "--db", "/no/such/dir/x.sqlite"])
        #expect(result.status == 2)
        #expect(result.stderr == "s1ingest: error: cannot create the database /no/such/dir/x.sqlite: the directory /no/such/dir does not exist (create it first, or pass another --db)\n",
                "\(result.stderr)")
    }

    @Test func fatalErrorsReadTheSameInEveryCommand() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await startMock(count: 3, seed: 5, token: Self.token)
        defer { Task { try? await console.shutdown() } }
        let ids = try writeIDFile(set, in: directory)
        let wrong = ["S1_API_TOKEN": "not-the-token", "S1_CONSOLE_URL": console.baseURL]
        let db = directory.path("f.sqlite")
        let runs: [[String]] = [
            ["sync", "--db", db, "--log-format", "text"],
            ["ingest", "--db", db, "--ids", ids, "--log-format", "text"],
            ["ingest", "--db", db, "--ids", ids, "--log-format", "json"],
            ["query", "--db", directory.path("none.sqlite"), "SELECT 1"],
            ["prune", "--db", directory.path("none.sqlite"), "--older-than", "1d"],
        ]
        for arguments in runs {
            let result = try await runBinary(arguments, environment: wrong)
            #expect(result.status == 3 || result.status == 2, "\(arguments): \(result.stderr)")
            let fatal = result.stderr.split(separator: "\n").filter { $0.hasPrefix("s1ingest: error: ") }
            #expect(fatal.count == 1, "\(arguments): \(result.stderr)")
        }
    }

    @Test func pruneDryRunReadsOnlyAndNeedsNoWriterLock() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let db = try await database(directory)
        let writer = try StoreOpener.openForWriting(path: db)  // holds the run lock, as a running sync does
        let dry = try await runBinary(["prune", "--db", db, "--older-than", "1s", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("would delete"))
        let real = try await runBinary(["prune", "--db", db, "--older-than", "1s"])
        #expect(real.status == 4, "\(real.stderr)")
        #expect(try writer.scalar("SELECT count(*) FROM threats") == .integer(20))
    }

    // MARK: item 9

    /// Every paragraph of every help text is wrapped once, by argument-parser: a line is
    /// broken only where the next word would not have fitted.
    @Test func helpTextsAreWrappedOnce() async throws {
        let width = 80
        let commands = ["", "demo", "ingest", "enqueue", "queue", "runs", "import", "migrate", "schema", "generate",
                        "sync", "prune", "export", "query", "report", "check", "rebuild", "coverage", "mock-console"]
        for command in commands {
            let arguments = (command.isEmpty ? [] : [command]) + ["--help"]
            let help = try await runBinary(arguments, environment: ["COLUMNS": "\(width)"])
            #expect(help.status == 0, "\(command): \(help.stderr)")
            // Subcommand lists put one entry per line.
            let lines = help.stdout.components(separatedBy: "\n").prefix { !$0.hasPrefix("SUBCOMMANDS:") }
            // In the discussion (before USAGE:), lines indented by two are examples, one command a line.
            let usage = lines.firstIndex { $0.hasPrefix("USAGE:") } ?? lines.startIndex
            for (index, (line, next)) in zip(lines, lines.dropFirst()).enumerated() {
                if lines.startIndex + index < usage, line.hasPrefix("  "), !line.hasPrefix("   ") { continue }
                let nextText = next.drop { $0 == " " }
                guard !line.trimmingCharacters(in: .whitespaces).isEmpty, !nextText.isEmpty,
                      !nextText.hasPrefix("-"), !line.hasSuffix(":"), !nextText.hasSuffix(":") || nextText.contains(" ") else { continue }
                let indent = next.count - nextText.count
                guard indent == line.count - line.drop(while: { $0 == " " }).count else { continue }
                let firstWord = nextText.prefix { $0 != " " }
                // argument-parser fills lines to at most width - 1 characters.
                #expect(line.count + 1 + firstWord.count >= width,
                        "\(command.isEmpty ? "s1ingest" : command) --help wrapped twice:\n\(line)\n\(next)")
            }
        }
    }

    /// README and `--help` agree: every option a command's help shows is in the README, and
    /// so is every exit code `s1ingest --help` lists.
    @Test func readmeAndHelpAgree() async throws {
        let readmeURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let readme = try String(contentsOf: readmeURL, encoding: .utf8)
        for command in ["demo", "ingest", "enqueue", "queue", "runs", "import", "migrate", "schema", "generate",
                        "sync", "prune", "export", "query", "report", "check", "rebuild", "coverage"] {
            let help = try await runBinary([command, "--help"], environment: ["COLUMNS": "200"])
            guard let options = help.stdout.range(of: "OPTIONS:") else { continue }
            let names = help.stdout[options.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," })
                .filter { $0.hasPrefix("--") }.map { String($0.prefix { $0.isLetter || $0 == "-" }) }
            for name in Set(names).subtracting(["--help", "--version"]) {
                #expect(readme.contains(name), "\(command) \(name) is not in README.md")
            }
        }
        let top = try await runBinary(["--help"], environment: ["COLUMNS": "200"])
        for code in ["0", "1", "2", "3", "4", "64", "130"] {
            #expect(top.stdout.contains(" \(code) "), "s1ingest --help lacks exit code \(code)")
            #expect(readme.contains("| \(code) |"), "README lacks exit code \(code)")
        }
    }

    @Test func jsonObjectsShareOneVocabulary() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await startMock(count: 3, seed: 6, token: Self.token)
        defer { Task { try? await console.shutdown() } }
        let env = ["S1_API_TOKEN": Self.token, "S1_CONSOLE_URL": console.baseURL]
        let db = directory.path("j.sqlite")
        let input = directory.path("one.json")
        try set.body(0).write(toFile: input, atomically: true, encoding: .utf8)
        let outputs = [
            try await runBinary(["import", "--db", db, "--json", input]),
            try await runBinary(["ingest", "--db", db, "--ids", try writeIDFile(set, in: directory), "--json", "--quiet"], environment: env),
            try await runBinary(["sync", "--db", db, "--since", "2020-01-01", "--json", "--quiet"], environment: env),
            try await runBinary(["runs", "--db", db, "--json", "--limit", "1"]),
            try await runBinary(["prune", "--db", db, "--older-than", "1d", "--dry-run", "--json"]),
            try await runBinary(["rebuild", "--db", db, "--json"]),
            try await runBinary(["coverage", "--db", db, "--json"]),
        ]
        for (index, output) in outputs.enumerated() {
            #expect(output.status == 0, "\(output.stderr)")
            let text = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let summary = try #require(object(text), "\(text)")
            #expect(!text.contains(#"\/"#), "\(text)")
            #expect(summary["s1ingest_version"] is String, "\(text)")
            #expect(summary["version"] == nil && summary["inserted"] == nil && summary["updated"] == nil, "\(text)")
            if index < 3 { #expect(summary["new"] is Int && summary["replaced"] is Int, "\(text)") }
        }
        #expect(outputs[1].stdout.contains("\"console_url\":\"http://"), "\(outputs[1].stdout)")
        #expect(outputs[1].stdout.contains("\"console\":\"default\""), "\(outputs[1].stdout)")
        #expect(outputs[3].stdout.contains("\"console_url\":\"http://"), "\(outputs[3].stdout)")
        #expect(outputs[3].stdout.contains("\"console\":\"default\""), "\(outputs[3].stdout)")
    }
}
