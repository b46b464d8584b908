import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
import Foundation
import Prometheus

/// What one run of a command did, for ``MetricsFile``.
public struct RunMetrics: Sendable {
    /// `ingest`, `sync`, `import`, `prune`.
    public var command: String
    /// The console's base URL, or empty for commands without one.
    public var console: String
    /// Seconds since 1970.
    public var startedAt: Double
    public var durationSeconds: Double
    public var status: RunStatus
    /// Counts by outcome: `stored`, `unchanged`, `not_found`, `failed`, `retries`, `requests`,
    /// `rate_limited` (429s), `deleted` ...
    public var counts: [String: Int]

    public init(command: String, console: String = "", startedAt: Double, durationSeconds: Double, status: RunStatus,
                counts: [String: Int]) {
        self.command = command
        self.console = console
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.status = status
        self.counts = counts
    }

    /// `ok` and `partial` runs did their job.
    public var succeeded: Bool { status == .ok || status == .partial }
}

/// Writes the Prometheus text exposition format for node_exporter's textfile collector:
/// the last run's start, duration, status and counts by outcome, the time of the last
/// successful run, the queue by state and each watermark's age. Written to a temporary file
/// in the same folder and renamed over `path`, so a scrape never reads half a file. The
/// format itself comes from swift-prometheus.
public enum MetricsFile {
    package static let statuses: [RunStatus] = [.ok, .partial, .failed, .aborted]

    public static func write(_ run: RunMetrics, to path: String, store provider: (any StoreProvider)?,
                             now: Double = Date().timeIntervalSince1970) throws {
        let registry = PrometheusCollectorRegistry()
        let labels = [("command", run.command), ("console", run.console)]
        registry.makeGauge(name: "s1ingest_last_run_start_timestamp_seconds", labels: labels,
                           help: "When the last run of this command started (seconds since 1970).").set(to: run.startedAt)
        registry.makeGauge(name: "s1ingest_last_run_duration_seconds", labels: labels,
                           help: "How long the last run took.").set(to: run.durationSeconds)
        for status in statuses {
            registry.makeGauge(name: "s1ingest_last_run_status", labels: labels + [("status", status.rawValue)],
                               help: "1 for the status the last run ended with (ok, partial, failed, aborted), else 0.")
                .set(to: run.status == status ? 1 : 0)
        }
        for (outcome, count) in run.counts.sorted(by: { $0.key < $1.key }) {
            registry.makeGauge(name: "s1ingest_last_run_items", labels: labels + [("outcome", outcome)],
                               help: "The last run's counts by outcome (stored, unchanged, not_found, failed, requests, retries, rate_limited, deleted).")
                .set(to: Double(count))
        }
        let database = provider.flatMap { try? $0.openForReading() }
        // From the run records when the command keeps them (the same value whatever this run did),
        // else this run's end when it succeeded, else what the file said before.
        if let lastSuccess = database.flatMap({ lastSuccess($0, run) })
            ?? (run.succeeded ? run.startedAt + run.durationSeconds
                : previousValue(path: path, name: "s1ingest_last_success_timestamp_seconds", labels: labels)) {
            registry.makeGauge(name: "s1ingest_last_success_timestamp_seconds", labels: labels,
                               help: "When the last ok or partial run of this command ended (alert when it is too long ago).")
                .set(lastSuccess)
        }
        if let database {
            let states = (try? database.queueCounts(console: nil)) ?? []
            var byState = Dictionary(uniqueKeysWithValues: QueueState.allCases.map { ($0.rawValue, 0) })
            for row in states { byState[row.state, default: 0] = row.count }
            for (state, count) in byState.sorted(by: { $0.key < $1.key }) {
                registry.makeGauge(name: "s1ingest_queue_ids", labels: [("state", state)], help: "Threat IDs in the durable queue by state.")
                    .set(to: Double(count))
            }
            for row in (try? database.watermarks()) ?? [] {
                let key = row.key
                guard let watermark = normalizedTimestamp(row.watermark),
                      let seconds = wholeSecondsSince1970(watermark) else { continue }
                registry.makeGauge(name: "s1ingest_watermark_age_seconds", labels: [("sync", key)],
                                   help: "How far the sync watermark (threatInfo.updatedAt) is behind now.")
                    .set(to: max(0, now - Double(seconds)))
            }
        }
        try replace(path, with: registry.emitToString())
    }

    /// The end of the newest ok or partial run of this command and console.
    package static func lastSuccess(_ database: any StoreRecords, _ run: RunMetrics) -> Double? {
        guard let ended = database.lastSuccess(command: run.command, console: run.console),
              let normalized = normalizedTimestamp(ended), let seconds = wholeSecondsSince1970(normalized) else { return nil }
        return Double(seconds)
    }

    /// A gauge's value in the file a previous run wrote (for commands without run records).
    package static func previousValue(path: String, name: String, labels: [(String, String)]) -> Double? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let wanted = labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") {
            guard wanted.allSatisfy({ line.contains($0) }), let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            return value
        }
        return nil
    }

    package static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Writes `text` to a temporary file beside `path`, then renames it over `path`.
    package static func replace(_ path: String, with text: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw MetricsError.cannotWrite(path: temporary)
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw MetricsError.cannotRename(path: path, reason: reason)
        }
    }
}

/// Why the metrics file was not written.
public enum MetricsError: Error, CustomStringConvertible {
    case cannotWrite(path: String)
    case cannotRename(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotWrite(let path): return "cannot write the metrics file \(path): is its folder there and writable?"
        case .cannotRename(let path, let reason): return "cannot put the metrics file in place at \(path): \(reason)"
        }
    }
}
