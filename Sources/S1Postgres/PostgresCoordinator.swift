import Foundation
import PostgresNIO
import S1Storage

extension PostgresStoreProvider {
    /// A coordinator on a connection of its own (see ``PostgresCoordinator``).
    public func openCoordinator() throws -> (any WorkerCoordinator)? {
        let connection = try connect()
        do {
            try Self.requireSchema(connection)
        } catch {
            connection.close()
            throw error
        }
        return PostgresCoordinator(connection: connection)
    }
}

/// Workers of one database agree through session advisory locks, which the server lets go of
/// when a process ends, however it ends (no table to clean up, no lease to wait out):
/// - a worker of a console holds a *shared* lock on (workers, hash of the console's name);
///   the number of sessions granted it is the number of live workers;
/// - the process listing a console holds the *exclusive* lock on (listing, hash of the name);
///   another `sync` tries it without waiting and, when it is taken, only drains the queue.
/// Two console names with one hash would share a count and a listing: harmless (slower
/// listing, a smaller share of the budget), and about one in four billion.
final class PostgresCoordinator: WorkerCoordinator, @unchecked Sendable {
    private let connection: PGConnection
    private let lock = NSLock()
    private var closed = false

    /// The first key of the locks that count a console's workers ("S1WK").
    static let workerLockClass: Int32 = 0x5331_574B
    /// The first key of the lock held by the process listing a console ("S1LS").
    static let listingLockClass: Int32 = 0x5331_4C53

    init(connection: PGConnection) {
        self.connection = connection
    }

    deinit { close() }

    func join(console: String) throws {
        try run("SELECT pg_advisory_lock_shared(\(Self.workerLockClass), hashtext($1))", console)
    }

    func workers(console: String) throws -> Int {
        let count = try withConnection { connection -> Int in
            var binds = PostgresBindings()
            binds.text(console)
            return try connection.scalar("""
                SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND objsubid = 2
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid = \(Self.workerLockClass)::oid AND objid = (hashtext($1))::oid
                """, binds, as: Int.self) ?? 0
        }
        return max(1, count)
    }

    func tryLockListing(console: String) throws -> Bool {
        try withConnection { connection in
            var binds = PostgresBindings()
            binds.text(console)
            return try connection.scalar("SELECT pg_try_advisory_lock(\(Self.listingLockClass), hashtext($1))", binds, as: Bool.self) ?? false
        }
    }

    func unlockListing(console: String) throws {
        try run("SELECT pg_advisory_unlock(\(Self.listingLockClass), hashtext($1))", console)
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        connection.close()
    }

    private func run(_ sql: String, _ console: String) throws {
        try withConnection { connection in
            var binds = PostgresBindings()
            binds.text(console)
            try connection.query(sql, binds)
        }
    }

    private func withConnection<T>(_ body: (PGConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if closed { throw CancellationError() }
        return try body(connection)
    }
}
