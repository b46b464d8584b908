import S1Common

/// Why a PostgreSQL store could not be reached, opened or written. Each message says what to
/// check; none holds a password (locations are shown without one).
public enum PostgresStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `--db` value is not a usable `postgresql://` URL.
    case invalidURL(shown: String, reason: String)
    /// The URL holds a password.
    case passwordInURL(shown: String)
    /// Nothing answered at the host and port (refused, unreachable, timed out, unknown host).
    case unreachable(location: String, detail: String)
    /// The server refused the user or password.
    case authenticationFailed(location: String, detail: String)
    /// The server wants a password and none was found.
    case passwordMissing(location: String)
    /// The database does not exist on the server.
    case databaseMissing(location: String, database: String)
    /// TLS was required (`sslmode`) and could not be set up.
    case tls(location: String, detail: String)
    /// The server is older than PostgreSQL 13.
    case serverTooOld(location: String, version: String)
    /// The database holds tables s1ingest did not create.
    case notAnS1ingestDatabase(location: String)
    /// The database was migrated by a newer s1ingest.
    case databaseNewer(location: String, version: Int, supported: Int)
    /// A migration failed; the database stays at the version before it.
    case migrationFailed(name: String, detail: String)
    /// The database has not been created by `migrate` (or a writer) yet.
    case notMigrated(location: String)
    /// Any other error the server or the connection reported.
    case server(location: String, detail: String)

    public var description: String {
        switch self {
        case .invalidURL(let shown, let reason):
            return "--db \(shown.isEmpty ? "value" : shown) is not a usable PostgreSQL URL: \(reason) (postgresql://USER@HOST:PORT/DBNAME?sslmode=require)"
        case .passwordInURL(let shown):
            return "--db \(shown): a password in the URL is refused (it would show in process lists and logs): "
                + "remove it and set PGPASSWORD, or put it in ~/.pgpass (or the file PGPASSFILE names, mode 0600)"
        case .unreachable(let location, let detail):
            return "cannot reach the PostgreSQL server of \(location): \(detail): check the host and port, that the server runs "
                + "and listens there (listen_addresses, port), and firewalls"
        case .authenticationFailed(let location, let detail):
            return "the PostgreSQL server of \(location) refused the login: \(detail): check the user name, and the password "
                + "in PGPASSWORD or ~/.pgpass (PGPASSFILE), and pg_hba.conf"
        case .passwordMissing(let location):
            return "the PostgreSQL server of \(location) asks for a password and none was found: set PGPASSWORD, or add a line "
                + "HOST:PORT:DBNAME:USER:PASSWORD to ~/.pgpass (or the file PGPASSFILE names, mode 0600)"
        case .databaseMissing(let location, let database):
            return "the database \"\(database)\" does not exist on the server of \(location): create it first "
                + "(createdb \(database), or CREATE DATABASE), then run s1ingest migrate --db URL"
        case .tls(let location, let detail):
            return "cannot set up TLS with the PostgreSQL server of \(location): \(detail): check sslmode, the server's ssl setting "
                + "and certificate, and sslrootcert"
        case .serverTooOld(let location, let version):
            return "the PostgreSQL server of \(location) runs version \(version); s1ingest needs PostgreSQL 13 or newer: "
                + "upgrade the server, or use another --db; nothing was changed"
        case .notAnS1ingestDatabase(let location):
            return "\(location) holds tables that s1ingest did not create: refusing to change it (use an empty database)"
        case .databaseNewer(let location, let version, let supported):
            return "\(location) has schema version \(version), newer than this s1ingest supports (\(supported)): upgrade s1ingest, or use another --db"
        case .migrationFailed(let name, let detail):
            return "migration postgresql/\(name) failed, the database was left at the version before it: \(detail)"
        case .notMigrated(let location):
            return "\(location) has no s1ingest schema yet: run s1ingest migrate --db URL (or import or ingest something) first"
        case .server(let location, let detail):
            return "PostgreSQL (\(location)): \(detail)"
        }
    }
}
