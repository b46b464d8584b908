import Foundation
import Testing
@testable import S1Config
import S1Testing

/// The consoles file of `sync --consoles FILE` (issue 14): real files in a temporary directory.
@Suite struct ConsolesFileTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory(prefix: "s1ingest-consoles") }

    /// Writes `text` as `name` (default `consoles.toml`) and reads it.
    func read(_ text: String, name: String = "consoles.toml") throws -> [ConsoleConfig] {
        try ConsolesFile.read(path: directory.file(name, text))
    }

    /// The error reading `text` as `consoles.toml` gives (nil, and a test failure, when it reads).
    func readError(_ text: String) throws -> ConsolesFileError? {
        let path = try directory.file("consoles.toml", text)
        do {
            let consoles = try ConsolesFile.read(path: path)
            Issue.record("read \(consoles.count) console(s), expected an error")
            return nil
        } catch {
            return error
        }
    }

    /// The three good lines of console `east`: header, url, token_file (lines 1–3).
    static let east = """
    [consoles.east]
    url = "https://east.example.com"
    token_file = "/etc/s1ingest/east.token"

    """

    // MARK: - Good files

    @Test func twoConsolesOneWithEveryOptionalKeyOneWithNoneInFileOrder() throws {
        let text = """
        # s1ingest consoles

        [consoles.west]
        url = "https://west.sentinelone.net"
        token_file = "/etc/s1ingest/west.token"

        # every optional key
        [consoles.east]   # the name used in the database
        url = "https://east.sentinelone.net"
        token_file = "/etc/s1ingest/east.token"
        sites = ["1286405255257023125", "42"]
        concurrency = 8
        rate = 20
        """
        let consoles = try read(text)
        #expect(consoles == [
            ConsoleConfig(name: "west", url: "https://west.sentinelone.net", tokenFile: "/etc/s1ingest/west.token", line: 3),
            ConsoleConfig(name: "east", url: "https://east.sentinelone.net", tokenFile: "/etc/s1ingest/east.token",
                          sites: ["1286405255257023125", "42"], concurrency: 8, rate: 20, line: 8),
        ])
    }

    @Test func limitsAtTheirBoundsAndAFractionalRate() throws {
        let text = Self.east + """
        concurrency = 64
        rate = 10000
        [consoles.b-2_x]
        url = "http://127.0.0.1:8443/prefix/"
        token_file = "/t/b"
        concurrency = 1
        rate = 0.5
        sites = ["1", "12345678901234567890"]
        """
        let consoles = try read(text)
        #expect(consoles.map(\.name) == ["east", "b-2_x"])
        #expect(consoles[0].concurrency == 64 && consoles[0].rate == 10000)
        #expect(consoles[1].concurrency == 1 && consoles[1].rate == 0.5)
        #expect(consoles[1].sites == ["1", "12345678901234567890"])
        #expect(consoles[1].url == "http://127.0.0.1:8443/prefix/")
        #expect(consoles[1].line == 6)
    }

    @Test func aNameOf63CharactersIsAllowed() throws {
        let name = "a" + String(repeating: "0", count: 62)
        let consoles = try read("[consoles.\(name)]\nurl = \"https://e.example.com\"\ntoken_file = \"/t\"\n")
        #expect(consoles.map(\.name) == [name])
    }

    @Test func dottedKeysAndInlineTablesHaveTheLinesOfTheirFirstKey() throws {
        let text = """
        # consoles written without [consoles.NAME] headers
        [consoles]
        west.url = "https://w.example.com"
        west.token_file = "/t/w"
        east = { url = "https://e.example.com", token_file = "/t/e" }
        """
        let consoles = try read(text)
        #expect(consoles.map(\.name) == ["west", "east"])
        #expect(consoles.map(\.line) == [3, 5])
    }

    @Test func relativeTokenFilesAreResolvedAgainstTheConsolesFilesDirectory() throws {
        try FileManager.default.createDirectory(atPath: directory.path("conf"), withIntermediateDirectories: true)
        let text = """
        [consoles.a]
        url = "https://a.example.com"
        token_file = "a.token"
        [consoles.b]
        url = "https://b.example.com"
        token_file = "./tokens/../secrets/b.token"
        [consoles.c]
        url = "https://c.example.com"
        token_file = "/etc/s1ingest/c.token"
        """
        let consoles = try read(text, name: "conf/consoles.toml")
        let conf = directory.url.appendingPathComponent("conf").path
        #expect(consoles.map(\.tokenFile) == [conf + "/a.token", conf + "/secrets/b.token", "/etc/s1ingest/c.token"])
    }

    @Test func aRelativeConsolesFilePathIsTakenFromTheWorkingDirectory() throws {
        let consoles = try ConsolesFile.parse(Self.east.replacingOccurrences(of: "/etc/s1ingest/east.token", with: "east.token"), path: "conf/consoles.toml")
        let cwd = FileManager.default.currentDirectoryPath
        #expect(consoles[0].tokenFile == (cwd == "/" ? "" : cwd) + "/conf/east.token")
        #expect(consoles[0].tokenFile.hasPrefix("/"))
    }

    @Test func keysInsideStringsAndCommentsAreNotTakenForKeys() throws {
        // A naive scan would put `rate` on line 3 and see a [consoles.b] header on line 4.
        let text = """
        [consoles.a]
        token_file = '''
        rate = 1
        [consoles.b]'''
        url = "https://a.example.com" # rate = 5
        "rate" = 0
        """
        let error = try #require(try readError(text))
        #expect(error.line == 6)
        #expect(error.field == "consoles.a.rate")
    }

    // MARK: - Bad files: the line and the field

    struct Bad: Sendable, CustomTestStringConvertible {
        let text: String
        let line: Int?
        let field: String?
        let message: String
        var testDescription: String { "\(field ?? "-"): \(message)" }
    }

    static let badValues: [Bad] = [
        Bad(text: east + "rate = 0", line: 4, field: "consoles.east.rate", message: "must be a number above 0"),
        Bad(text: east + "rate = -1.5", line: 4, field: "consoles.east.rate", message: "must be a number above 0"),
        Bad(text: east + "rate = nan", line: 4, field: "consoles.east.rate", message: "must be a number above 0"),
        Bad(text: east + "rate = 10000.5", line: 4, field: "consoles.east.rate", message: "must be at most 10000 (requests per second)"),
        Bad(text: east + "rate = inf", line: 4, field: "consoles.east.rate", message: "must be at most 10000 (requests per second)"),
        Bad(text: east + "rate = \"20\"", line: 4, field: "consoles.east.rate", message: "must be a number (got string)"),
        Bad(text: east + "concurrency = 0", line: 4, field: "consoles.east.concurrency", message: "must be between 1 and 64 (requests in flight at once)"),
        Bad(text: east + "concurrency = 65", line: 4, field: "consoles.east.concurrency", message: "must be between 1 and 64 (requests in flight at once)"),
        Bad(text: east + "concurrency = 8.0", line: 4, field: "consoles.east.concurrency", message: "must be an integer (got floating-point number)"),
        Bad(text: east + "concurrency = true", line: 4, field: "consoles.east.concurrency", message: "must be an integer (got boolean)"),
        Bad(text: east + "sites = \"1286405255257023125\"", line: 4, field: "consoles.east.sites", message: "must be an array of site IDs, e.g. [\"1286405255257023125\"] (got string)"),
        Bad(text: east + "sites = []", line: 4, field: "consoles.east.sites", message: "must list at least one site ID (leave sites out to sync every site)"),
        Bad(text: east + "sites = [1286405255257023125]", line: 4, field: "consoles.east.sites[0]", message: "must be a site ID in quotes, a string of 1 to 20 digits (got integer)"),
        Bad(text: east + "sites = [\"\"]", line: 4, field: "consoles.east.sites[0]", message: "must be a site ID: a string of 1 to 20 digits"),
        Bad(text: east + "sites = [\"1\", \"123456789012345678901\"]", line: 4, field: "consoles.east.sites[1]", message: "must be a site ID: a string of 1 to 20 digits"),
        Bad(text: east + "sites = [\n  \"1286405255257023125\",\n  \"12a4\",\n]", line: 6, field: "consoles.east.sites[1]", message: "must be a site ID: a string of 1 to 20 digits"),
        Bad(text: east + "sites = [\"7\", \"7\"]", line: 4, field: "consoles.east.sites[1]", message: "site 7 is listed twice"),
        Bad(text: east + "token = \"abc\"", line: 4, field: "consoles.east.token", message: "unknown key 'token' (allowed: url, token_file, sites, concurrency, rate)"),
        Bad(text: east + "\n[consoles.east.limits]\nrate = 5", line: 5, field: "consoles.east.limits", message: "unknown key 'limits' (allowed: url, token_file, sites, concurrency, rate)"),
        Bad(text: "[consoles.east]\nurl = 443\ntoken_file = \"/t\"", line: 2, field: "consoles.east.url", message: "must be a string (got integer)"),
        Bad(text: "[consoles.east]\nurl = \"ftp://e.example.com\"\ntoken_file = \"/t\"", line: 2, field: "consoles.east.url", message: "must be an http:// or https:// URL with a host, e.g. https://east.sentinelone.net"),
        Bad(text: "[consoles.east]\nurl = \"east.sentinelone.net\"\ntoken_file = \"/t\"", line: 2, field: "consoles.east.url", message: "must be an http:// or https:// URL with a host, e.g. https://east.sentinelone.net"),
        Bad(text: "[consoles.east]\nurl = \"https://\"\ntoken_file = \"/t\"", line: 2, field: "consoles.east.url", message: "must be an http:// or https:// URL with a host, e.g. https://east.sentinelone.net"),
        Bad(text: "[consoles.east]\nurl = \"https://e.example.com /x\"\ntoken_file = \"/t\"", line: 2, field: "consoles.east.url", message: "must be an http:// or https:// URL without spaces, e.g. https://east.sentinelone.net"),
        Bad(text: "[consoles.east]\ntoken_file = \"/t\"\nurl = \"https://e.example.com/?token=1\"", line: 3, field: "consoles.east.url", message: "must not have a query or fragment (?... or #...), e.g. https://east.sentinelone.net"),
        Bad(text: "[consoles.east]\ntoken_file = \"/t\"\nurl = \"https://e.example.com:0\"", line: 3, field: "consoles.east.url", message: "has a port out of range: use 1 to 65535"),
        Bad(text: "[consoles.east]\nurl = \"https://e.example.com\"\ntoken_file = [\"/t\"]", line: 3, field: "consoles.east.token_file", message: "must be a string (got array)"),
        Bad(text: "[consoles.east]\nurl = \"https://e.example.com\"\ntoken_file = \"\"", line: 3, field: "consoles.east.token_file", message: "must not be empty: the path of the file holding the console's API token"),
        Bad(text: "[consoles.east]\nurl = \"https://e.example.com\"\ntoken_file = \"~/east.token\"", line: 3, field: "consoles.east.token_file", message: "'~' is not expanded here: write the absolute path, or a path relative to the consoles file's directory"),
        Bad(text: "\n[consoles.east]\ntoken_file = \"/t\"\nsites = [\"1\"]", line: 2, field: "consoles.east.url", message: "missing required key 'url', the console's address, e.g. url = \"https://east.sentinelone.net\""),
        Bad(text: "[consoles.east]\nurl = \"https://e.example.com\"", line: 1, field: "consoles.east.token_file", message: "missing required key 'token_file', the file holding the console's API token (chmod 600)"),
    ]

    @Test(arguments: badValues)
    func badValueIsAnErrorWithItsLineAndField(bad: Bad) throws {
        let error = try #require(try readError(bad.text))
        #expect(error.path == directory.path("consoles.toml"))
        #expect(error.line == bad.line)
        #expect(error.field == bad.field)
        #expect(error.message == bad.message)
    }

    static let badStructure: [Bad] = [
        Bad(text: "title = \"consoles\"\n" + east, line: 1, field: "title", message: "unknown top-level key 'title': the file holds only consoles, as [consoles.NAME] tables"),
        Bad(text: east + "\n[settings]\nrate = 5", line: 5, field: "settings", message: "unknown top-level key 'settings': the file holds only consoles, as [consoles.NAME] tables"),
        Bad(text: east + "\n[console.west]\nurl = \"https://w.example.com\"", line: 5, field: "console", message: "unknown top-level key 'console': the file holds only consoles, as [consoles.NAME] tables"),
        Bad(text: "# no table\nconsoles = \"east\"", line: 2, field: "consoles", message: "must be a table of consoles, [consoles.NAME] (got string)"),
        Bad(text: "[consoles]\neast = \"https://e.example.com\"", line: 2, field: "consoles.east", message: "must be a table, [consoles.east] with url and token_file (got string)"),
        Bad(text: "[[consoles.east]]\nurl = \"https://e.example.com\"\ntoken_file = \"/t\"", line: 1, field: "consoles.east", message: "must be a table, [consoles.east] with url and token_file (got array)"),
        Bad(text: "", line: nil, field: nil, message: "no consoles: add a [consoles.NAME] table with url and token_file for each console"),
        Bad(text: "# nothing yet\n\n[consoles]\n", line: 3, field: "consoles", message: "no consoles: add a [consoles.NAME] table with url and token_file for each console"),
    ]

    @Test(arguments: badStructure)
    func badStructureIsAnErrorWithItsLineAndField(bad: Bad) throws {
        let error = try #require(try readError(bad.text))
        #expect(error.line == bad.line)
        #expect(error.field == bad.field)
        #expect(error.message == bad.message)
    }

    @Test(arguments: [
        ("East", "consoles.East"), ("-east", "consoles.-east"), ("_east", "consoles._east"),
        ("\"east.1\"", "consoles.\"east.1\""), ("\"east west\"", "consoles.\"east west\""), ("\"\"", "consoles.\"\""),
        ("\"ëast\"", "consoles.\"ëast\""), ("a" + String(repeating: "0", count: 63), "consoles.a" + String(repeating: "0", count: 63)),
    ])
    func aNameThatCannotBeADatabaseValueIsRefused(key: String, field: String) throws {
        let text = "# header on line 3\n\n[consoles.\(key)]\nurl = \"https://e.example.com\"\ntoken_file = \"/t\"\n"
        let error = try #require(try readError(text))
        #expect(error.line == 3)
        #expect(error.field == field)
        #expect(error.message.contains("^[a-z0-9][a-z0-9_-]{0,62}$"), "\(error)")
        #expect(error.message.contains("a value in the database and on the command line"), "\(error)")
    }

    @Test(arguments: [
        ("[consoles.east]\nurl = \"https://e.example.com\"\ntoken_file = \"/t/e\n", 3),
        ("[consoles.east]\nurl = \"https://e.example.com\"\ntoken_file = \"/t/e\"\n\nrate = \n", 5),
        ("[consoles.east]\nurl = \"https://e.example.com\"\n[consoles.east]\ntoken_file = \"/t/e\"\n", 3),
        ("[consoles.east\nurl = \"https://e.example.com\"\n", 1),
        ("\n\n\n\nurl = \"https://e.example.com\"\nurl = \"https://w.example.com\"\n", 6),
    ] as [(String, Int)])
    func aTOMLSyntaxErrorHasTheLineTOMLKitReports(text: String, line: Int) throws {
        let error = try #require(try readError(text))
        #expect(error.line == line, "\(error)")
        #expect(error.field == nil)
        #expect(error.message.hasPrefix("not valid TOML: "), "\(error)")
    }

    @Test func aNULCharacterIsRefusedWithItsLine() throws {
        // TOMLKit would read up to the NUL and not see the rest.
        let error = try #require(try readError(Self.east + "\u{0}rate = 0"))
        #expect(error.line == 4)
        #expect(error.message.contains("NUL"))
    }

    @Test func twoConsolesWithOneURLAreAnErrorNamingBoth() throws {
        let text = """
        [consoles.one]
        url = "https://East.Example.com"
        token_file = "/t/1"

        [consoles.two]
        token_file = "/t/2"
        url = "https://east.example.com:443/"
        """
        let error = try #require(try readError(text))
        #expect(error.line == 7)
        #expect(error.field == "consoles.two.url")
        #expect(error.message == "consoles 'one' (line 1) and 'two' have the same URL (https://east.example.com:443): list each console once")
    }

    @Test func theSameHostOnAnotherSchemeOrPortIsAnotherConsole() throws {
        let text = """
        [consoles.a]
        url = "https://e.example.com"
        token_file = "/t/a"
        [consoles.b]
        url = "https://e.example.com:8443"
        token_file = "/t/b"
        [consoles.c]
        url = "http://e.example.com"
        token_file = "/t/c"
        """
        #expect(try read(text).map(\.name) == ["a", "b", "c"])
        let duplicate = text + "\n[consoles.d]\nurl = \"http://e.example.com:80/\"\ntoken_file = \"/t/d\""
        let error = try #require(try readError(duplicate))
        #expect(error.line == 11 && error.field == "consoles.d.url")
        #expect(error.message.contains("'c' (line 7) and 'd'"), "\(error)")
    }

    @Test func theDescriptionIsFileLineFieldMessage() throws {
        do {
            _ = try ConsolesFile.parse("\n\n\n\n\n" + Self.east + "rate = 0\n", path: "consoles.toml")
            Issue.record("parsed")
        } catch {
            #expect(error.description == "consoles.toml:9: consoles.east.rate: must be a number above 0")
        }
        #expect(ConsolesFileError(path: "c.toml", message: "no consoles").description == "c.toml: no consoles")
        #expect(ConsolesFileError(path: "", field: "--only", message: "unknown").description == "--only: unknown")
    }

    @Test func valuesThatMayBeSecretsAreNotQuoted() throws {
        let secret = "eyJraWQiOiJ0b2tlblNpZ25pbmciLCJhbGciOiJIUzI1NiJ9"
        for text in [
            Self.east + "token = \"\(secret)\"",
            "[consoles.east]\nurl = \"https://user:\(secret)@e.example.com\"\ntoken_file = \"/t\"",
            "[consoles.east]\nurl = \"https://e.example.com/?ApiToken=\(secret)\"\ntoken_file = \"/t\"",
            Self.east + "sites = [\"\(secret)\"]",
            Self.east + "rate = \"\(secret)\"",
        ] {
            let error = try #require(try readError(text))
            #expect(!error.description.contains(secret), "\(error)")
            #expect(error.line != nil)
        }
    }

    @Test func aMissingOrUnreadableConsolesFileIsAnErrorNamingIt() throws {
        let path = directory.path("absent.toml")
        do {
            _ = try ConsolesFile.read(path: path)
            Issue.record("read a missing file")
        } catch {
            #expect(error.path == path)
            #expect(error.line == nil)
            #expect(error.description == "\(path): cannot read the consoles file: No such file or directory")
        }
        do {
            _ = try ConsolesFile.read(path: directory.url.path)
            Issue.record("read a directory")
        } catch {
            #expect(error.message.contains("not a regular file"), "\(error)")
        }
        let latin1 = try directory.file("latin1.toml", Array(Self.east.utf8) + [0x23, 0xE9, 0x0A])
        do {
            _ = try ConsolesFile.read(path: latin1)
            Issue.record("read Latin-1")
        } catch {
            #expect(error.line == 4)
            #expect(error.message == "is not UTF-8 text")
        }
    }

    // MARK: - Tokens

    /// A console whose token file is `name` in the temporary directory, holding `content`
    /// with permission bits `mode` (nil: no file).
    func console(tokenFile name: String, content: String?, mode: mode_t) throws -> ConsoleConfig {
        let path = directory.path(name)
        if let content {
            _ = try directory.file(name, content)
            #expect(chmod(path, mode) == 0)
        }
        return ConsoleConfig(name: "east", url: "https://e.example.com", tokenFile: path, line: 1)
    }

    static let token = "eyJraWQiOiJ0b2tlblNpZ25pbmciLCJhbGciOiJIUzI1NiJ9.secret-part"

    @Test func aTokenFileOfMode600IsReadAndTrimmed() throws {
        let console = try console(tokenFile: "east.token", content: "  \(Self.token)\r\n\n", mode: 0o600)
        #expect(try ConsolesFile.token(for: console) == Self.token)
        let readOnly = try self.console(tokenFile: "ro.token", content: Self.token, mode: 0o400)
        #expect(try ConsolesFile.token(for: readOnly) == Self.token)
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o620, 0o601] as [mode_t])
    func aTokenFileOthersCanReachIsRefusedWithChmod600(mode: mode_t) throws {
        let console = try console(tokenFile: "east.token", content: Self.token + "\n", mode: mode)
        do {
            _ = try ConsolesFile.token(for: console)
            Issue.record("mode \(String(mode, radix: 8)) accepted")
        } catch {
            #expect(error.path == console.tokenFile)
            #expect(error.field == "consoles.east.token_file")
            #expect(error.message.contains("chmod 600 \(console.tokenFile)"), "\(error)")
            #expect(error.message.contains("(mode 0\(String(mode, radix: 8)))"), "\(error)")
            #expect(!error.description.contains(Self.token))
        }
    }

    @Test func aTokenFilePathWithASpaceIsQuotedInTheChmodAdvice() throws {
        let console = try console(tokenFile: "east token", content: Self.token, mode: 0o644)
        do {
            _ = try ConsolesFile.token(for: console)
            Issue.record("accepted")
        } catch {
            #expect(error.message.hasSuffix("chmod 600 '\(console.tokenFile)'"), "\(error)")
        }
    }

    @Test(arguments: [
        ("missing.token", nil, "cannot read the token file: No such file or directory"),
        ("empty.token", "", "the token file is empty: it must hold the console's API token"),
        ("blank.token", " \n\t\n", "the token file is empty: it must hold the console's API token"),
        ("two-lines.token", token + "\n" + token + "\n", "the token file holds more than one word or a control character: it must hold only the API token"),
        ("assignment.token", "S1_API_TOKEN= " + token, "the token file holds more than one word or a control character: it must hold only the API token"),
    ] as [(String, String?, String)])
    func anUnusableTokenFileIsAnErrorNamingIt(name: String, content: String?, message: String) throws {
        let console = try console(tokenFile: name, content: content, mode: 0o600)
        do {
            _ = try ConsolesFile.token(for: console)
            Issue.record("read a token")
        } catch {
            #expect(error.path == console.tokenFile)
            #expect(error.field == "consoles.east.token_file")
            #expect(error.message == message)
            #expect(error.description.hasPrefix(console.tokenFile + ": "))
            #expect(!error.description.contains(Self.token))
        }
    }

    @Test func aDirectoryOrAHugeFileIsNoTokenFile() throws {
        let directoryConsole = ConsoleConfig(name: "east", url: "https://e.example.com", tokenFile: directory.url.path, line: 1)
        #expect(throws: ConsolesFileError.self) { try ConsolesFile.token(for: directoryConsole) }
        let huge = try console(tokenFile: "huge.token", content: String(repeating: "a", count: ConsolesFile.maxTokenFileBytes + 1), mode: 0o600)
        do {
            _ = try ConsolesFile.token(for: huge)
            Issue.record("read a huge token")
        } catch {
            #expect(error.message.contains("larger than 64 KiB"), "\(error)")
        }
    }

    // MARK: - --only

    static let three = [
        ConsoleConfig(name: "west", url: "https://w.example.com", tokenFile: "/t/w", line: 1),
        ConsoleConfig(name: "east", url: "https://e.example.com", tokenFile: "/t/e", line: 4),
        ConsoleConfig(name: "north", url: "https://n.example.com", tokenFile: "/t/n", line: 7),
    ]

    @Test func selectKeepsFileOrderWhateverTheOrderOfTheNames() throws {
        #expect(try ConsolesFile.select(Self.three, only: ["north", "west"]).map(\.name) == ["west", "north"])
        #expect(try ConsolesFile.select(Self.three, only: ["east", "east"]).map(\.name) == ["east"])
        #expect(try ConsolesFile.select(Self.three, only: []) == Self.three)
    }

    @Test func selectingUnknownNamesIsAnErrorListingTheKnownOnes() {
        do {
            _ = try ConsolesFile.select(Self.three, only: ["east", "south", "West"])
            Issue.record("selected unknown consoles")
        } catch {
            #expect(error.field == "--only")
            #expect(error.message == "unknown consoles 'south', 'West' (the consoles file has: west, east, north)")
        }
        do {
            _ = try ConsolesFile.select(Self.three, only: ["south"])
            Issue.record("selected an unknown console")
        } catch {
            #expect(error.description == "--only: unknown console 'south' (the consoles file has: west, east, north)")
        }
    }
}

/// The scan that finds the lines TOMLKit does not give.
@Suite struct TOMLLineIndexTests {
    @Test func headersKeysInlineTablesAndArrayElements() {
        let text = """
        top = 1
        [a . "b.c"]
        'x' = { y = 1, "z" = [
          2,
          { w = 3 },
        ] }
        [[list]]
        s = \"\"\"
        k = "v"
        \"\"\"
        after = 'it"s'
        """
        let index = TOMLLineIndex(text)
        #expect(index.line(["top"]) == 1)
        #expect(index.line(["a"]) == 2)
        #expect(index.line(["a", "b.c"]) == 2)
        #expect(index.line(["a", "b.c", "x"]) == 3)
        #expect(index.line(["a", "b.c", "x", "y"]) == 3)
        #expect(index.line(["a", "b.c", "x", "z", TOMLLineIndex.elementComponent(0)]) == 4)
        #expect(index.line(["a", "b.c", "x", "z", TOMLLineIndex.elementComponent(1)]) == 5)
        #expect(index.line(["a", "b.c", "x", "z", TOMLLineIndex.elementComponent(1), "w"]) == 5)
        #expect(index.line(["list"]) == 7)
        #expect(index.line(["list", "s"]) == 8)
        #expect(index.line(["list", "k"]) == nil)
        #expect(index.line(["k"]) == nil)
        #expect(index.line(["list", "after"]) == 11)
    }

    @Test func escapedQuotesAndMultilineQuotesDoNotEndAStringEarly() {
        let text = #"""
        a = "x\" = 1 [b]"
        c = """q""\"""\n"""
        d = '''x''''
        e = 2
        """#
        let index = TOMLLineIndex(text)
        #expect(index.line(["a"]) == 1)
        #expect(index.line(["c"]) == 2)
        #expect(index.line(["d"]) == 3)
        #expect(index.line(["e"]) == 4)
        #expect(index.line(["b"]) == nil)
        #expect(index.positions.count == 4)
    }
}
