import Foundation
import S1IngestCore
import S1Testing
import S1MockConsole
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real binary under the system call filter each shipped systemd unit asks for.
///
/// systemd kills a process (SIGSYS) that makes a call its `SystemCallFilter=` lines refuse;
/// `systemd-analyze verify` cannot see that. So the test reads the unit from `contrib/systemd`,
/// builds the same filter (`@groups` expanded by `systemd-analyze syscall-filter`, the first
/// line setting allow- or deny-list mode, later lines adding or removing, the action from
/// `SystemCallErrorNumber=`), loads it with `Support/seccomp-exec.c` (libseccomp), drops to
/// `nobody` when run as root (the units set `User=`), refuses writable and executable memory
/// when the unit sets `MemoryDenyWriteExecute=yes`, and runs the unit's `ExecStart=` lines.
/// (The other restrictions systemd enforces with seccomp make a call fail, not kill.)
/// Needs `systemd-analyze` (Debian `systemd`), `cc` and `libseccomp-dev`.
@Suite(.serialized) struct SystemdUnitSandboxTests {
    static let token = "sandbox-secret-token-51c2"

    @Test func syncUnitLetsSyncRun() async throws {
        let sandbox = try Sandbox(unit: "s1ingest-sync.service")
        defer { sandbox.cleanUp() }
        try await sandbox.expectVersionRuns()

        let console = try await MockConsole.start(MockConsoleConfiguration(
            analyses: SyntheticAnalyses(count: 1200, seed: 5), token: Self.token))
        defer { Task { try? await console.shutdown() } }
        let environment = ["S1_CONSOLE_URL": console.baseURL, "S1_API_TOKEN": Self.token]
        let commands = sandbox.unit.execStart
        #expect(commands.map { Array($0.prefix(2)) } == [["/usr/local/bin/s1ingest", "sync"]])
        for command in commands {
            // The unit lists the last 7 days; the mock's threats are older.
            let run = try await sandbox.run(command + ["--since", "2020-01-01"], environment: environment)
            try sandbox.expectSuccess(run, command)
            let summary = try #require(
                (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any], "\(run.stdout)")
            #expect(summary["stored"] as? Int == 1200)
            #expect(!run.stdout.contains(Self.token) && !run.stderr.contains(Self.token))
        }
        #expect(storedThreats(sandbox.database) == 1200)
    }

    /// The same unit with `S1INGEST_CONSOLES` in its environment file: every console of the file.
    @Test func syncUnitSyncsAConsolesFile() async throws {
        let sandbox = try Sandbox(unit: "s1ingest-sync.service")
        defer { sandbox.cleanUp() }
        let east = try await MockConsole.start(MockConsoleConfiguration(analyses: SyntheticAnalyses(count: 300, seed: 5), token: "east-\(Self.token)"))
        let west = try await MockConsole.start(MockConsoleConfiguration(
            analyses: SyntheticAnalyses(count: 200, seed: 6, idBase: 1_000_000), token: "west-\(Self.token)"))
        defer { Task { try? await east.shutdown(); try? await west.shutdown() } }
        var text = ""
        for (name, console) in [("east", east), ("west", west)] {
            let tokenFile = sandbox.directory.path("\(name).token")
            try "\(name)-\(Self.token)\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            chmod(tokenFile, 0o600)
            // The unit's User= reads it (owner only, as the README says to install it).
            if let user = sandbox.user { chown(tokenFile, user.uid, user.gid) }
            text += "[consoles.\(name)]\nurl = \"\(console.baseURL)\"\ntoken_file = \"\(tokenFile)\"\n"
        }
        let file = sandbox.directory.path("consoles.toml")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        for command in sandbox.unit.execStart {
            let run = try await sandbox.run(command + ["--since", "2020-01-01"], environment: ["S1INGEST_CONSOLES": file])
            try sandbox.expectSuccess(run, command)
            let summary = try #require(
                (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any], "\(run.stdout)")
            #expect((summary["total"] as? [String: Any])?["stored"] as? Int == 500, "\(run.stdout)")
            #expect(!run.stdout.contains(Self.token) && !run.stderr.contains(Self.token))
        }
        #expect(storedThreats(sandbox.database) == 500)
    }

    @Test func pruneUnitLetsPruneRun() async throws {
        let sandbox = try Sandbox(unit: "s1ingest-prune.service")
        defer { sandbox.cleanUp() }
        try await sandbox.expectVersionRuns()

        // A database to prune, filled without a filter, a quarter of it old.
        let console = try await MockConsole.start(MockConsoleConfiguration(
            analyses: SyntheticAnalyses(count: 200, seed: 6), token: Self.token))
        defer { Task { try? await console.shutdown() } }
        let fill = try await sandbox.run(["/usr/local/bin/s1ingest", "sync", "--since", "2020-01-01"],
                                         environment: ["S1_CONSOLE_URL": console.baseURL, "S1_API_TOKEN": Self.token],
                                         filtered: false)
        try sandbox.expectSuccess(fill, ["sync"])
        do {
            let database = try StoreOpener.openForWriting(path: sandbox.database)
            try database.execute("UPDATE threats SET last_ingested_at = '2020-01-01T00:00:00.000000Z' WHERE rowid % 4 = 0")
            try database.execute("UPDATE raw_analyses SET ingested_at = '2020-01-01T00:00:00.000000Z' WHERE rowid % 2 = 0")
        }
        let commands = sandbox.unit.execStart
        #expect(commands.count == 2)
        #expect(commands.allSatisfy { Array($0.prefix(2)) == ["/usr/local/bin/s1ingest", "prune"] })
        for command in commands {
            try sandbox.expectSuccess(try await sandbox.run(command), command)
        }
        #expect(storedThreats(sandbox.database) == 150)
    }
}

/// The `[Service]` settings of a unit file in `contrib/systemd`.
struct UnitFile {
    let name: String
    let settings: [(key: String, value: String)]

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("contrib/systemd")

    init(_ name: String) throws {
        self.name = name
        var section = "", settings: [(String, String)] = []
        let text = try String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8)
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.hasPrefix(";") || line.isEmpty { continue }
            if line.hasPrefix("[") { section = line; continue }
            guard section == "[Service]", let equals = line.firstIndex(of: "=") else { continue }
            settings.append((String(line[..<equals]), String(line[line.index(after: equals)...])))
        }
        self.settings = settings
    }

    func values(_ key: String) -> [String] { settings.filter { $0.key == key }.map(\.value) }

    var execStart: [[String]] {
        values("ExecStart").map { $0.split(separator: " ").map(String.init) }
    }

    /// `Environment=KEY=VALUE` assignments.
    var environment: [String: String] {
        var result: [String: String] = [:]
        for assignment in values("Environment").flatMap({ $0.split(separator: " ") }) {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { result[parts[0]] = parts[1] }
        }
        return result
    }

    var successExitStatus: Set<Int32> {
        Set([0] + values("SuccessExitStatus").flatMap { $0.split(separator: " ").compactMap { Int32($0) } })
    }
}

/// The seccomp filter systemd builds from a unit's `SystemCallFilter=` lines.
struct SyscallFilter {
    /// Allow-list: `names` run, anything else gets the action. Deny-list: the reverse.
    var allowList: Bool
    var names: Set<String>
    /// nil: kill the process (SIGSYS); else the errno the refused call fails with.
    var errorNumber: Int32?

    init(unit: UnitFile) throws {
        let lines = unit.values("SystemCallFilter")
        guard !lines.isEmpty else { throw SandboxError("\(unit.name) has no SystemCallFilter=") }
        var mode: Bool?
        var names = Set<String>()
        var groups: [String: [String]] = [:]
        for line in lines {
            if line.isEmpty { mode = nil; names = []; continue }
            let inverted = line.hasPrefix("~")
            let items = (inverted ? String(line.dropFirst()) : line).split(separator: " ").map(String.init)
            if items.contains(where: { $0.contains(":") }) {
                throw SandboxError("per-call errno (\(line)) is not modelled by this test")
            }
            let expanded = try Set(items.flatMap { try Self.expand($0, groups: &groups) })
            if mode == nil {
                mode = !inverted
                // systemd always lets an allow-listed service make the @default calls.
                if !inverted { names = Set(try Self.expand("@default", groups: &groups)) }
            }
            if inverted == !(mode!) { names.formUnion(expanded) } else { names.subtract(expanded) }
        }
        allowList = mode ?? false
        self.names = names
        switch unit.values("SystemCallErrorNumber").last {
        case nil, "kill"?: errorNumber = nil
        case "EPERM"?: errorNumber = EPERM
        case "EACCES"?: errorNumber = EACCES
        case "ENOSYS"?: errorNumber = ENOSYS
        case let other?:
            guard let number = Int32(other) else { throw SandboxError("SystemCallErrorNumber=\(other) not modelled") }
            errorNumber = number
        }
    }

    /// A name, or the calls of a `@group` (recursively) as `systemd-analyze` lists them.
    static func expand(_ item: String, groups: inout [String: [String]]) throws -> [String] {
        guard item.hasPrefix("@") else { return [item] }
        if let known = groups[item] { return known }
        let output = try Sandbox.capture("/usr/bin/env", ["systemd-analyze", "syscall-filter", item])
        var result: [String] = []
        for line in output.split(separator: "\n").dropFirst() {
            let entry = line.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty || entry.hasPrefix("#") { continue }
            result += try expand(entry, groups: &groups)
        }
        guard !result.isEmpty else { throw SandboxError("systemd-analyze lists nothing for \(item)") }
        groups[item] = result
        return result
    }
}

struct SandboxError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory, the compiled helper and the unit's filter.
struct Sandbox {
    let unit: UnitFile
    let filter: SyscallFilter
    let directory: TemporaryDirectory
    let helper: String
    let listFile: String
    /// nobody's uid and gid when the tests run as root (as the unit's `User=` would).
    let user: (uid: UInt32, gid: UInt32)?

    var database: String { directory.path("threats.sqlite") }

    init(unit name: String) throws {
        unit = try UnitFile(name)
        filter = try SyscallFilter(unit: unit)
        directory = try TemporaryDirectory()
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Support/seccomp-exec.c").path
        helper = directory.path("seccomp-exec")
        do {
            let compiler = try Self.capture("/bin/sh", ["-c", "command -v cc || command -v clang"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try Self.capture(compiler, ["-O1", "-o", helper, source, "-lseccomp"])
        } catch {
            throw SandboxError("cannot build \(source) (needs cc or clang, and libseccomp-dev): \(error)")
        }
        listFile = directory.path("syscalls.txt")
        try filter.names.sorted().joined(separator: "\n").write(toFile: listFile, atomically: true, encoding: .utf8)
        if geteuid() == 0, let nobody = getpwnam("nobody") {
            user = (nobody.pointee.pw_uid, nobody.pointee.pw_gid)
            _ = chown(directory.url.path, nobody.pointee.pw_uid, nobody.pointee.pw_gid)
        } else {
            user = nil
        }
    }

    func cleanUp() { directory.cleanUp() }

    struct Run {
        let status: Int32
        let signal: Int32?
        let stdout: String
        let stderr: String
    }

    /// Runs a unit command line (`/usr/local/bin/s1ingest` is the built binary) under the
    /// filter, or without it, with the unit's environment and `S1INGEST_DB` in the directory.
    func run(_ command: [String], environment: [String: String] = [:], filtered: Bool = true) async throws -> Run {
        var arguments: [String] = []
        if let user { arguments += ["-u", "\(user.uid):\(user.gid)"] }
        if filtered {
            if let errorNumber = filter.errorNumber { arguments += ["-e", "\(errorNumber)"] }
            if unit.values("MemoryDenyWriteExecute").last == "yes" { arguments.append("-m") }
            arguments += [filter.allowList ? "-a" : "-d", listFile]
        } else {
            arguments += ["-d", "/dev/null"]
        }
        let binary = command[0] == "/usr/local/bin/s1ingest" ? BinaryRunner.executable.path : command[0]
        arguments += [binary] + command.dropFirst()

        var env = unit.environment
        for (key, value) in environment { env[key] = value }
        env["S1INGEST_DB"] = database
        let run = try BackgroundRun.start(arguments, environment: env, directory: directory, name: UUID().uuidString,
                                          executable: URL(fileURLWithPath: helper), currentDirectory: directory.url)
        guard await run.wait(seconds: 180) != nil else {
            run.process.terminate()
            throw SandboxError("\(command.joined(separator: " ")) still running after 180 s")
        }
        let killed = run.process.terminationReason == .uncaughtSignal
        return Run(status: killed ? -1 : run.process.terminationStatus, signal: killed ? run.process.terminationStatus : nil,
                   stdout: run.stdout, stderr: run.stderr)
    }

    func expectSuccess(_ run: Run, _ command: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let what = "\(unit.name): `\(command.joined(separator: " "))`"
        if let signal = run.signal {
            let how = signal == SIGSYS ? "SIGSYS: a system call the unit's SystemCallFilter= refuses" : "signal \(signal)"
            Issue.record("\(what) was killed by \(how)\n\(run.stderr)", sourceLocation: sourceLocation)
            throw SandboxError("killed")
        }
        #expect(unit.successExitStatus.contains(run.status), "\(what) exited \(run.status)\n\(run.stderr)",
                sourceLocation: sourceLocation)
    }

    func expectVersionRuns(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let run = try await run(["/usr/local/bin/s1ingest", "--version"])
        try expectSuccess(run, ["s1ingest", "--version"], sourceLocation: sourceLocation)
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == S1IngestVersion.current,
                sourceLocation: sourceLocation)
    }

    /// Runs a tool to completion; its stdout, or an error with its stderr.
    static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        let result = try runProcess(executable, arguments)
        guard result.status == 0 else {
            throw SandboxError("\(executable) \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }
}
