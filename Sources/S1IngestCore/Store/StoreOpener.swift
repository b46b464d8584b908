/// Opens a database the way each kind of command needs it.
public enum StoreOpener {
    /// Opens (creating when missing) for the one writer, configured and migrated.
    public static func openForWriting(path: String) throws -> Database {
        let database = try Database(path: path, mode: .readWriteCreate)
        try database.configureForWriting()
        try Migrator.migrate(database)
        return database
    }

    /// Opens an existing database read-only: nothing done through it can change the file.
    public static func openForReading(path: String) throws -> Database {
        let database = try Database(path: path, mode: .readOnly)
        let version = try database.userVersion
        if version > Migrator.latestVersion {
            throw MigrationError.databaseNewer(path: path, version: version, supported: Migrator.latestVersion)
        }
        return database
    }
}
