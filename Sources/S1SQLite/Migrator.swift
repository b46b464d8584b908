import S1Storage
import S1Common
import S1JSON
import S1Model
/// One schema change: a file of `migrations/`, carried inside the binary.
public struct Migration: Sendable {
    /// The number the file name starts with (`0003_views.sql` -> 3).
    public let version: Int
    /// The file name.
    public let name: String
    public let sql: String
}

/// Why a database could not be brought to the current schema.
public enum MigrationError: Error, CustomStringConvertible, Sendable {
    /// The file was made by a newer s1ingest.
    case databaseNewer(path: String, version: Int, supported: Int)
    /// The file has tables but is not an s1ingest database.
    case notAnS1ingestDatabase(path: String)
    /// A migration's SQL failed; the database stays at the previous version.
    case migrationFailed(name: String, error: SQLiteError)

    public var description: String {
        switch self {
        case .databaseNewer(let path, let version, let supported):
            return "\(path) has schema version \(version), newer than this s1ingest supports (\(supported)): upgrade s1ingest, or use another --db"
        case .notAnS1ingestDatabase(let path):
            return "\(path) is a SQLite database that s1ingest did not create: refusing to change it (use another --db)"
        case .migrationFailed(let name, let error):
            return "migration \(name) failed, the database was left at the version before it: \(error.message)"
        }
    }
}

/// Brings a database to the newest schema, one migration per transaction.
public enum Migrator {
    public typealias Report = MigrationReport

    /// `PRAGMA application_id` of every s1ingest database ("S1IG").
    public static let applicationId = 0x5331_4947

    /// Every migration this binary carries, in order.
    public static let migrations: [Migration] = embeddedMigrationFiles.map { file in
        let digits = file.name.prefix { $0.isNumber }
        return Migration(version: Int(digits) ?? 0, name: file.name, sql: file.sql)
    }.sorted { $0.version < $1.version }

    /// The schema version a fully migrated database has.
    public static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// What `migrate` did.

    /// Throws when `migrate` would refuse the database: made by a newer s1ingest, or a
    /// non-empty database s1ingest did not create. Reads only: call it before changing anything.
    public static func checkMigratable(_ database: Database) throws {
        let current = try database.userVersion
        if current > latestVersion {
            throw MigrationError.databaseNewer(path: database.path, version: current, supported: latestVersion)
        }
        if current == 0 {
            let tables = try database.scalar("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").integerValue ?? 0
            if tables > 0 { throw MigrationError.notAnS1ingestDatabase(path: database.path) }
        } else if try database.scalar("PRAGMA application_id").integerValue != Int64(applicationId) {
            throw MigrationError.notAnS1ingestDatabase(path: database.path)
        }
    }

    /// Applies every migration newer than the database's version. Refuses a database from a
    /// newer s1ingest, and a non-empty database that s1ingest did not create.
    @discardableResult
    public static func migrate(_ database: Database) throws -> Report {
        try checkMigratable(database)
        let current = try database.userVersion
        var applied: [String] = []
        for migration in migrations where migration.version > current {
            do {
                try database.immediateTransaction {
                    // Re-check inside the write lock: another process may have migrated meanwhile.
                    guard try database.userVersion < migration.version else { return }
                    try database.execute(migration.sql)
                    try database.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                        .run([.integer(Int64(migration.version)), .text(migration.name), .text(currentTimestamp())])
                    try database.execute("PRAGMA user_version = \(migration.version)")
                    applied.append(migration.name)
                }
            } catch let error as SQLiteError {
                throw MigrationError.migrationFailed(name: migration.name, error: error)
            }
        }
        return Report(fromVersion: current, toVersion: try database.userVersion, applied: applied)
    }
}
