import Foundation
import S1Testing
import S1MockConsole

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `s1ingest` binary built beside the test bundle.
struct BinaryRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The built `s1ingest` executable; `S1INGEST_TEST_BINARY` names another one (e.g. an
    /// older build, to see a new test fail on it).
    static let executable: URL = {
        if let other = ProcessInfo.processInfo.environment["S1INGEST_TEST_BINARY"], !other.isEmpty {
            return URL(fileURLWithPath: other)
        }
        var candidates: [URL] = []
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(argv0.deletingLastPathComponent())
        candidates.append(Bundle.main.bundleURL)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for directory in candidates {
            var url = directory
            for _ in 0..<4 {
                let candidate = url.appendingPathComponent("s1ingest")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                url = url.deletingLastPathComponent()
            }
        }
        fatalError("s1ingest binary not found near \(candidates)")
    }()

    /// Runs `s1ingest arguments...` to completion; with a `launcher` (e.g. `unshare -n`),
    /// runs `launcher... s1ingest arguments...`.
    static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                    currentDirectory: URL? = nil, launcher: [String] = []) throws -> Result {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "S1INGEST_DB")
        for (key, value) in environment { env[key] = value }
        if let first = launcher.first {
            return try runProcess(first, Array(launcher.dropFirst()) + [executable.path] + arguments, stdin: stdin,
                                  environment: env, currentDirectory: currentDirectory)
        }
        return try runProcess(executable.path, arguments, stdin: stdin, environment: env, currentDirectory: currentDirectory)
    }
}

/// Runs `executable arguments...` to completion (environment: this process's unless given),
/// reading both pipes while it runs, so a large output cannot block it.
func runProcess(_ executable: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
                currentDirectory: URL? = nil) throws -> BinaryRunner.Result {
    let result = try ChildProcess.run(executable, arguments, stdin: stdin, environment: environment, currentDirectory: currentDirectory?.path)
    return BinaryRunner.Result(status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self),
                               stderr: String(decoding: result.stderr, as: UTF8.self))
}

/// Starts the real binary in the background (output to files), for runs that must overlap.
struct BackgroundRun: Sendable {
    let process: ChildProcess
    let stdoutPath: String
    let stderrPath: String

    /// `executable` is the s1ingest binary unless given (e.g. a launcher that runs it).
    static func start(_ arguments: [String], environment: [String: String], directory: TemporaryDirectory, name: String,
                      executable: URL = BinaryRunner.executable, currentDirectory: URL? = nil) throws -> BackgroundRun {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "S1INGEST_DB")
        for (key, value) in environment { env[key] = value }
        let out = directory.path("\(name).out"), err = directory.path("\(name).err")
        let process = try ChildProcess(executable.path, arguments, environment: env, currentDirectory: currentDirectory?.path,
                                       stdout: .file(out), stderr: .file(err))
        return BackgroundRun(process: process, stdoutPath: out, stderrPath: err)
    }

    /// Sends `number` (SIGINT, SIGTERM, SIGKILL) to the process.
    func signal(_ number: Int32) { process.signal(number) }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the process to end (at most `seconds`) and returns its status. Sleeps
    /// without holding a thread of the shared pool, so parallel tests keep running.
    func wait(seconds: Double = 20) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Polls `condition` every 10 ms for up to `seconds` on a thread of its own, and sends
/// `number` to `run` the moment it holds (or at the deadline). Returns whether it held.
///
/// Neither the poll nor the signal waits for Swift's cooperative pool: on a two-core machine
/// other suites can keep that pool busy for seconds, long enough for a fast child to finish
/// before a poll there would see it and send the signal.
func signal(_ number: Int32, to run: BackgroundRun, within seconds: Double = 20,
            when condition: @escaping @Sendable () -> Bool) async -> Bool {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            let deadline = Date().addingTimeInterval(seconds)
            var held = condition()
            while !held, Date() < deadline {
                usleep(10_000)
                held = condition()
            }
            run.signal(number)
            continuation.resume(returning: held)
        }
    }
}

/// `BinaryRunner.run` on a Dispatch thread: waiting for the process does not block a thread
/// of Swift's cooperative pool (two on a two-core machine), which other tests need.
func runBinary(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
               launcher: [String] = []) async throws -> BinaryRunner.Result {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try BinaryRunner.run(arguments, stdin: stdin, environment: environment, launcher: launcher) })
        }
    }
}

/// A mock console serving `count` synthetic threats (seed `seed`) to `token`.
func startMock(count: Int, seed: UInt64, token: String, faults: FaultPlan = FaultPlan(), idBase: Int = 0) async throws -> (MockConsole, SyntheticAnalyses) {
    let set = SyntheticAnalyses(count: count, seed: seed, idBase: idBase)
    return (try await MockConsole.start(MockConsoleConfiguration(analyses: set, token: token, faults: faults)), set)
}

/// Writes every ID of `set` to `ids.txt` in `directory`, one per line; its path.
func writeIDFile(_ set: SyntheticAnalyses, in directory: TemporaryDirectory) throws -> String {
    let path = directory.path("ids.txt")
    try (0..<set.count).map(set.threatId).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
