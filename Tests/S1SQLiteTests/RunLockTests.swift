import Foundation
import Testing
@testable import S1IngestCore
import S1Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct RunLockTests {
    /// True when another open file description can take the flock now (as another process would).
    func lockIsFree(_ lockPath: String) -> Bool {
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return false }
        flock(descriptor, LOCK_UN)
        return true
    }

    @Test func writerConnectionHoldsTheLockUntilItGoes() throws {
        let scratch = try TemporaryDirectory()
        let path = scratch.path("locked.sqlite")
        let lockPath = RunLock.lockPath(forDatabase: path)
        do {
            let database = try StoreOpener.openForWriting(path: path)
            #expect(!lockIsFree(lockPath))
            let holder = try String(contentsOfFile: lockPath, encoding: .utf8)
            #expect(holder.hasPrefix("pid \(getpid()), started "))
            // A read-only connection does not take it, and works while it is held.
            let reader = try StoreOpener.openForReading(path: path)
            #expect(try reader.userVersion == Migrator.latestVersion)
            // The same process may open the database for writing again (the lock is shared).
            let second = try StoreOpener.openForWriting(path: path)
            _ = second
            _ = database
        }
        #expect(lockIsFree(lockPath))
        // Sequential writers in one process.
        do { _ = try StoreOpener.openForWriting(path: path) }
        do { _ = try StoreOpener.openForWriting(path: path) }
        #expect(lockIsFree(lockPath))
    }

    @Test func lockHeldElsewhereFailsAtOnceWithWhoHoldsIt() throws {
        let scratch = try TemporaryDirectory()
        let path = scratch.path("busy.sqlite")
        let lockPath = RunLock.lockPath(forDatabase: path)
        // Another holder: a separate open file description, as another process would have.
        let other = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #expect(flock(other, LOCK_EX | LOCK_NB) == 0)
        let text = Array("pid 4242, started 2026-11-25T02:00:00.000000Z\n".utf8)
        _ = text.withUnsafeBytes { write(other, $0.baseAddress, $0.count) }
        let started = Date()
        #expect {
            try StoreOpener.openForWriting(path: path)
        } throws: { error in
            guard case RunLockError.locked(let databasePath, _, let holder) = error else { return false }
            return databasePath == path && holder == "pid 4242, started 2026-11-25T02:00:00.000000Z"
                && "\(error)".contains("another s1ingest run (pid 4242, started 2026-11-25T02:00:00.000000Z) is writing to \(path)")
        }
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(!FileManager.default.fileExists(atPath: path), "a blocked run does not create the database")
        // Released (as when the holding process dies): the next writer goes ahead.
        close(other)
        let database = try StoreOpener.openForWriting(path: path)
        #expect(try database.userVersion == Migrator.latestVersion)
    }

    @Test func everySpellingOfOneDatabaseSharesOneLock() throws {
        let scratch = try TemporaryDirectory()
        let real = scratch.path("real")
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        let path = real + "/db.sqlite"
        do { _ = try StoreOpener.openForWriting(path: path) }
        // A symbolic link to the directory, one to the file, and a path with `..` and `.`.
        #expect(symlink(real, scratch.path("link")) == 0)
        #expect(symlink(path, scratch.path("alias.sqlite")) == 0)
        let variants = [scratch.path("link") + "/db.sqlite", scratch.path("alias.sqlite"), real + "/../real/./db.sqlite"]
        let lockPath = RunLock.lockPath(forDatabase: path)
        #expect(lockPath.hasPrefix("/") && lockPath.hasSuffix("/real/db.sqlite.lock"))
        for variant in variants { #expect(RunLock.lockPath(forDatabase: variant) == lockPath, "\(variant)") }
        // A database not created yet, in a linked directory: the directory is resolved.
        #expect(RunLock.lockPath(forDatabase: scratch.path("link") + "/new.sqlite")
                == RunLock.lockPath(forDatabase: real + "/new.sqlite"))

        // Held by another process: no spelling gets past it.
        let other = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #expect(flock(other, LOCK_EX | LOCK_NB) == 0)
        for variant in variants {
            #expect(throws: RunLockError.self, "\(variant)") { try StoreOpener.openForWriting(path: variant) }
        }
        close(other)
        do { _ = try StoreOpener.openForWriting(path: scratch.path("alias.sqlite")) }
        #expect(!FileManager.default.fileExists(atPath: scratch.path("alias.sqlite.lock")))
    }

    @Test func memoryDatabasesTakeNoLock() throws {
        let database = try StoreOpener.openForWriting(path: ":memory:")
        #expect(database.retainedResources.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: ":memory:.lock"))
    }
}
