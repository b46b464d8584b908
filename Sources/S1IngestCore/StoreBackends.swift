/// Picks the store backend for a `--db` value: a `postgresql://` (or `postgres://`) URL is
/// PostgreSQL, anything else a SQLite path. A new backend adds its URL scheme here, and
/// nowhere in the pipelines.
public enum StoreBackends {
    /// The backend that opens `location`.
    public static func provider(for location: String) -> any StoreProvider {
        if PostgresLocation.isPostgresURL(location) { return PostgresStoreProvider(url: location) }
        return SQLiteStoreProvider(path: location)
    }
}

// The pipelines with the store their options name (`databasePath`), for programs and tests
// that pass a `--db` value rather than a provider.

extension Importer {
    public convenience init(options: ImportOptions) {
        self.init(options: options, store: StoreBackends.provider(for: options.databasePath))
    }
}

extension Ingester {
    public convenience init(options: IngestOptions) {
        self.init(options: options, store: StoreBackends.provider(for: options.databasePath))
    }
}

extension Syncer {
    public convenience init(options: SyncOptions) {
        self.init(options: options, store: StoreBackends.provider(for: options.databasePath))
    }
}

extension Rebuilder {
    public static func run(_ options: RebuildOptions, onProgress: ((Int, Int) -> Void)? = nil) throws -> RebuildSummary {
        try run(options, store: StoreBackends.provider(for: options.databasePath), onProgress: onProgress)
    }
}

extension MetricsFile {
    public static func write(_ run: RunMetrics, to path: String, databasePath: String?, now: Double = Date().timeIntervalSince1970) throws {
        try write(run, to: path, store: databasePath.map(StoreBackends.provider(for:)), now: now)
    }
}

import Foundation
import S1Pipeline
import S1Postgres
import S1Report
import S1SQLite
import S1Storage

// Readers over the store their `databasePath` names.

extension ExportJob {
    /// Writes the export from the store at `databasePath`, read-only.
    @discardableResult
    public func run() throws -> [ExportedFile] {
        try run(reader: StoreBackends.provider(for: databasePath).openReader())
    }
}

extension QueryJob {
    /// Runs the statement on the store at `databasePath`, read-only.
    @discardableResult
    public func run(to sink: OutputSink) throws -> Outcome {
        try run(to: sink, reader: StoreBackends.provider(for: databasePath).openReader())
    }
}

extension ReportJob {
    /// Runs the reports on the store at `databasePath`, read-only.
    public func run(to sink: OutputSink) throws {
        try run(to: sink, reader: StoreBackends.provider(for: databasePath).openReader())
    }
}

extension Coverage {
    /// Reads the raw bodies of the store at `path`, read-only.
    public static func run(databasePath path: String) throws -> CoverageReport {
        try run(reader: StoreBackends.provider(for: path).openReader())
    }
}
