import ArgumentParser
import Foundation
import Logging
import S1IngestCore
import S1JSON
import Synchronization

/// `--log-format`: how events go to stderr when they are for machines.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// `2026-11-25T02:00:01.123456Z warning message key=value`
    case text
    /// `{"time":"...","level":"warning","message":"...","metadata":{...}}`
    case json
}

/// A swift-log handler that writes one line per event to stderr, as text or JSON.
/// Messages never carry the API token: nothing that logs has it.
struct LineLogHandler: LogHandler {
    let format: LogFormat
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        FileHandleOutput.standardError(Self.line(format: format, time: currentTimestamp(), level: event.level,
                                                 message: event.message.description, metadata: merged) + "\n")
    }

    /// One event as one line (no line breaks inside: they are escaped or replaced).
    static func line(format: LogFormat, time: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        switch format {
        case .text:
            var line = "\(time) \(level.rawValue) \(terminalSafe(message.replacingOccurrences(of: "\n", with: " ")))"
            for key in metadata.keys.sorted() {
                let value = terminalSafe("\(metadata[key]!)".replacingOccurrences(of: "\n", with: " "))
                line += " \(key)=\(value.contains(" ") ? "\"\(value)\"" : value)"
            }
            return line
        case .json:
            var line = "{\"time\":\(jsonStringLiteral(time)),\"level\":\(jsonStringLiteral(level.rawValue)),\"message\":\(jsonStringLiteral(message))"
            if !metadata.isEmpty {
                line += ",\"metadata\":{"
                line += metadata.keys.sorted().map { "\(jsonStringLiteral($0)):\(jsonStringLiteral("\(metadata[$0]!)"))" }.joined(separator: ",")
                line += "}"
            }
            return line + "}"
        }
    }
}

/// The process's logging set-up: swift-log bootstrapped once, with the format chosen.
enum LogOutput {
    private static let chosen = Mutex<LogFormat>(.text)

    private static let bootstrapped: Void = {
        LoggingSystem.bootstrap { _ in LineLogHandler(format: LogOutput.chosen.withLock { $0 }) }
    }()

    /// A logger writing `format` lines to stderr.
    static func logger(_ format: LogFormat) -> Logger {
        chosen.withLock { $0 = format }
        _ = bootstrapped
        return Logger(label: "s1ingest")
    }
}

/// Where a run's progress, warnings and milestones go: the terminal (a rewriting progress
/// line, `s1ingest: ...` warnings) when stderr is one and no `--log-format` was given, else
/// one log event per line.
final class RunLog: @unchecked Sendable {
    let console: Console
    let logger: Logger?
    /// `--log-format json`: a fatal error is also written as an event, for log collectors.
    private let jsonEvents: Bool
    private var lastProgressLog: [String: Double] = [:]
    private let progressLock = NSLock()

    init(output: OutputOptions) {
        console = Console(quiet: output.quiet)
        jsonEvents = output.logFormat == .json
        if output.logFormat != nil || !console.isTerminal {
            var logger = LogOutput.logger(output.logFormat ?? .text)
            logger.logLevel = output.quiet ? .error : .info
            self.logger = logger
        } else {
            logger = nil
        }
    }

    func warn(_ message: String) {
        if let logger { logger.warning("\(message)") } else { console.warn(message) }
    }

    func info(_ message: String, _ metadata: Logger.Metadata = [:]) {
        if let logger { logger.info("\(message)", metadata: metadata) } else { console.warn(message) }
    }

    /// A fatal error: `s1ingest: error: ...` on stderr, as in every command (with
    /// `--log-format json` also an `error` event, so a JSON log keeps it).
    func error(_ message: String) {
        console.clearProgress()
        if jsonEvents, let logger { logger.error("\(message)") }
        FileHandleOutput.standardError("s1ingest: error: \(terminalSafe(message))\n")
    }

    /// A progress line on the terminal; as a log event at most every 5 s (per `label`: the
    /// console of `sync --consoles`, whose consoles report from several tasks).
    func progress(_ progress: IngestProgress, label: String? = nil) {
        progressLock.lock()
        defer { progressLock.unlock() }
        let prefix = label.map { "\($0): " } ?? ""
        let eta = progress.etaSeconds.map { " ETA \(Int($0.rounded())) s" } ?? ""
        let failing = progress.lastError.map { ", last error: \($0)" } ?? ""
        let line = prefix + "\(progress.done)/\(progress.total) done, \(progress.stored) stored, \(Int(progress.rate))/s, \(progress.retries) retries, \(progress.errors) errors\(eta)\(failing)"
        if let logger {
            guard progress.elapsedSeconds - (lastProgressLog[label ?? ""] ?? -1.0e9) >= 5 else { return }
            lastProgressLog[label ?? ""] = progress.elapsedSeconds
            var metadata: Logger.Metadata = [
                "done": "\(progress.done)", "total": "\(progress.total)", "stored": "\(progress.stored)",
                "errors": "\(progress.errors)", "retries": "\(progress.retries)", "rate": "\(Int(progress.rate))",
            ]
            if let lastError = progress.lastError { metadata["last_error"] = "\(lastError)" }
            if let label { metadata["console"] = "\(label)" }
            logger.info("progress", metadata: metadata)
        } else if console.isTerminal {
            console.progress(line)
        }
    }

    func clearProgress() { console.clearProgress() }

    /// Runs `body`; an error becomes one `s1ingest: error:` line (see `error(_:)`) and its exit code.
    func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            if error is ExitCode || error is ValidationError { throw error }
            self.error("\(error)")
            throw ExitCode(exitCode(for: error))
        }
    }
}
