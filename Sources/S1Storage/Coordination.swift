/// What several processes writing one database agree on through it (PostgreSQL: one queue,
/// many workers): which one lists a console, and how many share the console's rate budget.
///
/// A coordinator has its own connection, apart from the store's writer, so it can be asked
/// from a background task while the writer works. Whatever it holds (the listing, a place
/// among a console's workers) ends with its process: SIGKILL included, the server notices the
/// connection closed. SQLite has one writer (its run lock), so it has no coordinator
/// (``StoreProvider/openCoordinator()`` returns nil) and every run is alone.
public protocol WorkerCoordinator: AnyObject, Sendable {
    /// Counts this process among the workers of `console` (a name) until ``close()``.
    func join(console: String) throws

    /// The workers of `console` alive now (this one included once joined; at least 1).
    func workers(console: String) throws -> Int

    /// Becomes the one process listing `console`'s threats: true; false at once when another
    /// live process lists it now. Held until ``unlockListing(console:)`` or ``close()``.
    func tryLockListing(console: String) throws -> Bool

    /// Lets another process list `console`.
    func unlockListing(console: String) throws

    /// Leaves every console and lets go of every listing; closes the connection.
    func close()
}

extension StoreProvider {
    /// Nil: the store has one writer at a time (SQLite), nothing to coordinate.
    public func openCoordinator() throws -> (any WorkerCoordinator)? { nil }
}
