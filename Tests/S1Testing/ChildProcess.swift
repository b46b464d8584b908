import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process the tests start with `posix_spawn`: the real binary, a shell script,
/// `python3`, PostgreSQL's tools.
///
/// Not Foundation's `Process`: on Linux its `run()` copies each `/proc/self/fd` entry's whole
/// 256-byte `d_name`, reading past the end of glibc's buffer when a short entry ends it next
/// to an unmapped page. With the suite's many descriptors open that is a SIGSEGV now and then
/// (swift-corelibs-foundation PR #5472; Swift 6.3.1): a CI run died of it in `memmove`, its
/// registers holding the entries `1384` and `1385` and the 256-byte length.
///
/// The child gets the three descriptors asked for and no other (`closefrom(3)`), every signal
/// at its default and none blocked, whatever the test process's threads had.
package final class ChildProcess: @unchecked Sendable {
    /// Where one of the child's standard descriptors goes.
    package enum Redirect: Sendable {
        /// The test process's own.
        case inherit
        case nullDevice
        /// A descriptor of the test process (duplicated into the child).
        case descriptor(Int32)
        /// A file, created or truncated, written in append mode.
        case file(String)
        /// Standard error only: the same as standard output.
        case standardOutput
    }

    /// How the process ended.
    package enum TerminationReason: Sendable, Equatable {
        case exit
        case uncaughtSignal
    }

    package let processIdentifier: pid_t
    private let lock = NSLock()
    /// The status `waitpid` reported, once it has.
    private var waitStatus: Int32?

    /// Starts `executable` (a path, or a name looked up in `PATH`) with `arguments`, in
    /// `environment` (this process's when nil) and `currentDirectory` (this process's when nil).
    package init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil,
                 stdin: Redirect = .nullDevice, stdout: Redirect = .nullDevice, stderr: Redirect = .nullDevice) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, redirect) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch redirect {
            case .inherit: break
            case .nullDevice: posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .descriptor(let source): posix_spawn_file_actions_adddup2(&actions, source, target)
            case .file(let path): posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
            case .standardOutput: posix_spawn_file_actions_adddup2(&actions, 1, target)
            }
        }
        if let currentDirectory {
            guard GNU.addChdir(&actions, currentDirectory) == 0 else { throw SpawnError(description: "cannot run \(executable) in \(currentDirectory)") }
        }
        _ = GNU.addCloseFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let code = if let envp {
            posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        } else {
            posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
        }
        guard code == 0 else { throw SpawnError(description: "cannot run \(executable): \(String(cString: strerror(code)))") }
        processIdentifier = pid
    }

    /// True until the process has ended (and been reaped).
    package var isRunning: Bool { reap() == nil }

    /// Waits for the process to end. Polls, so that other threads asking `isRunning` (or
    /// sending it a signal) meanwhile are not held up.
    package func waitUntilExit() {
        while reap() == nil { usleep(2_000) }
    }

    /// Waits for the process to end if it has not, and returns ``terminationStatus``.
    @discardableResult
    package func waitUntilExitIfRunning() -> Int32 {
        waitUntilExit()
        return terminationStatus
    }

    /// The exit status, or the signal's number when a signal ended it. Only once it ended.
    package var terminationStatus: Int32 {
        guard let status = reap() else { preconditionFailure("the process \(processIdentifier) is still running") }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Whether it exited or a signal ended it. Only once it ended.
    package var terminationReason: TerminationReason {
        guard let status = reap() else { preconditionFailure("the process \(processIdentifier) is still running") }
        return status & 0x7f == 0 ? .exit : .uncaughtSignal
    }

    /// The status as a shell reports it: the exit status, or 128 + the signal's number.
    package var shellStatus: Int32 {
        terminationReason == .exit ? terminationStatus : 128 + terminationStatus
    }

    /// Sends SIGTERM.
    package func terminate() { signal(SIGTERM) }

    /// Sends `number` unless the process has been reaped (its PID may belong to another by then).
    package func signal(_ number: Int32) {
        lock.withLock { if waitStatus == nil { _ = kill(processIdentifier, number) } }
    }

    /// The wait status once the process has ended, without blocking.
    private func reap() -> Int32? {
        lock.withLock {
            if let waitStatus { return waitStatus }
            var status: Int32 = 0
            while true {
                let result = waitpid(processIdentifier, &status, WNOHANG)
                if result == processIdentifier {
                    waitStatus = status
                    return status
                }
                if result < 0, errno == EINTR { continue }
                return nil
            }
        }
    }

    /// A pipe whose two ends are closed on exec (a child gets one only as a redirect).
    package static func pipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard GNU.pipe2(&ends, O_CLOEXEC) == 0 else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
        return (ends[0], ends[1])
    }

    /// Runs `executable arguments...` to its end, writing `stdin` to it and reading both of its
    /// outputs while it runs (a large output cannot block it).
    package static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
                            currentDirectory: String? = nil) throws -> (status: Int32, stdout: Data, stderr: Data) {
        let input = try pipe(), output = try pipe(), errors = try pipe()
        let child: ChildProcess
        do {
            child = try ChildProcess(executable, arguments, environment: environment, currentDirectory: currentDirectory,
                                     stdin: .descriptor(input.read), stdout: .descriptor(output.write), stderr: .descriptor(errors.write))
        } catch {
            [input.read, input.write, output.read, output.write, errors.read, errors.write].forEach { _ = close($0) }
            throw error
        }
        [input.read, output.write, errors.write].forEach { _ = close($0) }
        let outputBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            outputBox.data = readToEnd(output.read)
            group.leave()
        }
        if let stdin { writeAll(stdin, to: input.write) }
        close(input.write)
        let errorData = readToEnd(errors.read)
        group.wait()
        close(output.read)
        close(errors.read)
        child.waitUntilExit()
        return (child.terminationStatus, outputBox.data, errorData)
    }

    /// Writes `data` whole (retried on EINTR and short writes); stops at an error (the child
    /// closed its end).
    private static func writeAll(_ data: Data, to descriptor: Int32) {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let count = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if count > 0 { offset += count } else if count < 0, errno == EINTR { continue } else { return }
            }
        }
    }
}

/// glibc's GNU extensions, which Swift's Glibc module (no `_GNU_SOURCE`) does not declare:
/// looked up once at run time (glibc 2.34 and later has all three).
private enum GNU {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

    static let addCloseFrom: AddCloseFrom = function("posix_spawn_file_actions_addclosefrom_np")
    static let addChdir: AddChdir = function("posix_spawn_file_actions_addchdir_np")
    static let pipe2: Pipe2 = function("pipe2")

    private static func function<T>(_ name: String) -> T {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("glibc has no \(name) (2.34 or later needed)") }
        return unsafeBitCast(symbol, to: T.self)
    }
}

/// Why a child process could not be started.
package struct SpawnError: Error, CustomStringConvertible {
    package let description: String
}

/// Everything until end of file, read with `read(2)` and retried on EINTR (Foundation's
/// `readDataToEndOfFile()` traps on an interrupted call, which a signal sent during the suite
/// can cause: it crashed a whole test run once).
package func readToEnd(_ descriptor: Int32) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count > 0 { data.append(contentsOf: buffer[0..<count]); continue }
        if count < 0 && errno == EINTR { continue }
        return data
    }
}

/// Holds what a reader thread read, handed over through `DispatchGroup.wait()`.
package final class DataBox: @unchecked Sendable {
    package var data = Data()
    package init() {}
}
