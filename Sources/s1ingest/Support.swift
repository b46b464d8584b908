import ArgumentParser
import S1IngestCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exit codes every command uses; README.md documents them.
enum S1IngestExitCode {
    static let partial: Int32 = 1
    static let failure: Int32 = 2
    static let authentication: Int32 = 3
    /// Another s1ingest process is writing to the same database (its run lock is held).
    static let locked: Int32 = 4
    static let interrupted: Int32 = 130
    /// A wrong option, value or name (argument-parser's own usage errors exit 64 too).
    static let usage: Int32 = 64
}

/// Runs `body`; an error becomes one clear line on stderr and exit status 2.
func runReportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw reportFailure(error)
    }
}

/// Runs `body`; an error becomes one clear line on stderr and exit status 2.
func runReportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        throw reportFailure(error)
    }
}

/// Prints `error` for a person (`s1ingest: error: ...`, the one form of a fatal error in
/// every command) and returns the exit code to leave with. Usage errors (`ValidationError`)
/// go on to argument-parser, which prints them with the usage and exits 64.
func reportFailure(_ error: any Error) -> any Error {
    if error is ExitCode || error is ValidationError { return error }
    FileHandleOutput.standardError("s1ingest: error: \(terminalSafe("\(error)"))\n")
    return ExitCode(exitCode(for: error))
}

/// The exit code for an error that ended a command.
func exitCode(for error: any Error) -> Int32 {
    if case RunLockError.locked = error { return S1IngestExitCode.locked }
    if let reporting = error as? ReportingError {
        switch reporting {
        // A name or value the user typed: a usage error, like an unknown option.
        case .unknownTable, .unknownView, .unknownReport, .invalidSince: return S1IngestExitCode.usage
        default: break
        }
    }
    // A consoles file or a console name that does not hold together: fix the file or the option.
    if error is ConsolesFileError || error is ConsoleStoreError { return S1IngestExitCode.usage }
    return S1IngestExitCode.failure
}

/// Parses a date, time or duration option with `TimeGrammar` (in `validate()`): a value
/// it refuses is a usage error, exit 64, and nothing is run.
func parseTimeOption<T>(_ option: String, _ parse: () throws -> T) throws -> T {
    do {
        return try parse()
    } catch {
        throw ValidationError("\(option): \(error)")
    }
}

enum Environment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }
}

enum FileHandleOutput {
    static func standardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// Messages on stderr; a progress line that rewrites itself when stderr is a terminal.
final class Console {
    let quiet: Bool
    let isTerminal = isatty(2) == 1
    private var progressShown = false

    init(quiet: Bool) { self.quiet = quiet }

    func warn(_ message: String) {
        guard !quiet else { return }
        clearProgress()
        FileHandleOutput.standardError("s1ingest: \(terminalSafe(message))\n")
    }

    func progress(_ line: String) {
        guard !quiet, isTerminal else { return }
        FileHandleOutput.standardError("\r\u{1B}[2K\(line)")
        progressShown = true
    }

    func clearProgress() {
        guard progressShown else { return }
        FileHandleOutput.standardError("\r\u{1B}[2K")
        progressShown = false
    }
}
