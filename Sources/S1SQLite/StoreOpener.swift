import S1Storage
import S1Common
import S1JSON
import S1Model
/// Opens a database the way each kind of command needs it.
public enum StoreOpener {
    /// Opens (creating when missing) for the one writer, configured and migrated. Takes the
    /// run lock first (`<path>.lock`, see `RunLock`): when another process is writing to the
    /// database this throws `RunLockError.locked` at once. The lock lives as long as the
    /// returned connection.
    public static func openForWriting(path: String) throws -> Database {
        try openAndMigrate(path: path).database
    }

    /// `s1ingest migrate`: creates the database or brings it to the newest schema, under the
    /// run lock, and says what it did.
    public static func migrate(path: String) throws -> Migrator.Report {
        try openAndMigrate(path: path).report
    }

    /// A file that cannot be migrated (from a newer s1ingest, or not s1ingest's) is refused
    /// before anything is changed, its journal mode included.
    private static func openAndMigrate(path: String) throws -> (database: Database, report: Migrator.Report) {
        if takesRunLock(path), let slash = path.lastIndex(of: "/") {
            let directory = slash == path.startIndex ? "/" : String(path[..<slash])
            var status = stat()
            if stat(directory, &status) != 0 || (status.st_mode & S_IFMT) != S_IFDIR {
                throw StoreError.noDirectory(path: path, directory: directory)
            }
        }
        let lock = try takesRunLock(path) ? RunLock.acquire(databasePath: path) : nil
        let database = try Database(path: path, mode: .readWriteCreate)
        if let lock { database.retainedResources.append(lock) }
        try Migrator.checkMigratable(database)
        try database.configureForWriting()
        return (database, try Migrator.migrate(database))
    }

    /// In-memory and URI databases have no file of their own to guard.
    package static func takesRunLock(_ path: String) -> Bool {
        !path.isEmpty && path != ":memory:" && !path.hasPrefix("file:")
    }

    /// Opens an existing database read-only: nothing done through it can change the file.
    public static func openForReading(path: String) throws -> Database {
        if path != ":memory:", !path.hasPrefix("file:"), access(path, F_OK) != 0 {
            throw StoreError.noDatabase(path: path)
        }
        let database = try Database(path: path, mode: .readOnly)
        let version = try database.userVersion
        if version > Migrator.latestVersion {
            throw MigrationError.databaseNewer(path: path, version: version, supported: Migrator.latestVersion)
        }
        return database
    }
}

/// A database that is not there or not usable for the command.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case noDatabase(path: String)
    /// The folder the database file would be created in does not exist.
    case noDirectory(path: String, directory: String)

    public var description: String {
        switch self {
        case .noDatabase(let path):
            return "no database at \(path): pass --db PATH (or set S1INGEST_DB), or fill one first with `s1ingest import` or `s1ingest ingest`"
        case .noDirectory(let path, let directory):
            return "cannot create the database \(path): the directory \(directory) does not exist (create it first, or pass another --db)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
