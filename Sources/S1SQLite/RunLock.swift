import S1Storage
import S1Common
import S1JSON
import S1Model
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One writer per database across processes: an exclusive `flock(2)` on `<db>.lock`,
/// taken without waiting and held for as long as the writing connection lives. The kernel
/// drops the lock when the holding process dies, however it dies, so a killed run never
/// blocks the next one; the file left behind is harmless (it only says who held it last).
///
/// Within one process the lock is shared and counted: a second writer connection to the
/// same file (sync's own connection and the ingester's, or tests opening a database again)
/// joins the lock, and the file is unlocked when the last holder goes.
public final class RunLock: @unchecked Sendable {
    /// The lock file.
    public let lockPath: String
    private let key: FileKey

    private struct FileKey: Hashable {
        package let device: UInt64
        package let inode: UInt64
    }

    private struct Entry {
        package let descriptor: Int32
        package var holders: Int
    }

    private static let held = Mutex<[FileKey: Entry]>([:])
    /// Failure notes found in lock files when their lock was taken, by lock path.
    private static let notes = Mutex<[String: (runId: Int64, message: String)]>([:])

    /// `<database path>.lock`, beside the real database file: the path is resolved first
    /// (`resolvedDatabasePath`), so every spelling of one database, a symbolic link to it
    /// included, maps to one lock file.
    public static func lockPath(forDatabase path: String) -> String { resolvedDatabasePath(path) + ".lock" }

    /// The canonical absolute path of the database at `path`: `realpath(3)` of the file when
    /// it exists (symbolic links to it followed, as SQLite follows them), else `realpath(3)`
    /// of its directory plus its file name; `path` as given when neither resolves.
    public static func resolvedDatabasePath(_ path: String) -> String {
        if let resolved = realPath(path) { return resolved }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty, let resolvedDirectory = realPath(directory) else { return path }
        return resolvedDirectory.hasSuffix("/") ? resolvedDirectory + name : resolvedDirectory + "/" + name
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Takes the lock for the database at `databasePath`, or throws `RunLockError.locked`
    /// at once when another process holds it.
    public static func acquire(databasePath: String) throws(RunLockError) -> RunLock {
        let lockPath = lockPath(forDatabase: databasePath)
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .unusable(lockPath: lockPath, reason: String(cString: strerror(errno)))
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw .unusable(lockPath: lockPath, reason: reason)
        }
        let key = FileKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        // A lock held by another process fails at once. A few short retries cover a lock this
        // process just released but a child it is spawning still shares for an instant (the
        // descriptor is close-on-exec, but exists in the child between fork and exec).
        enum Attempt { case taken, joined, busy, failed(Int32) }
        var attempt = Attempt.busy
        for round in 0..<25 {
            if round > 0 { usleep(8_000) }
            attempt = held.withLock { table in
                if var entry = table[key] {
                    entry.holders += 1
                    table[key] = entry
                    return .joined
                }
                guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                    let code = errno
                    return code == EWOULDBLOCK || code == EAGAIN ? .busy : .failed(code)
                }
                if let note = readFailureNote(descriptor) { notes.withLock { $0[lockPath] = note } }
                writeHolder(descriptor)
                table[key] = Entry(descriptor: descriptor, holders: 1)
                return .taken
            }
            guard case .busy = attempt else { break }
        }
        let result: Result<Void, RunLockError>
        switch attempt {
        case .taken:
            result = .success(())
        case .joined:
            close(descriptor)
            result = .success(())
        case .busy:
            let holder = readHolder(descriptor)
            close(descriptor)
            result = .failure(.locked(databasePath: databasePath, lockPath: lockPath, holder: holder))
        case .failed(let code):
            close(descriptor)
            result = .failure(.unusable(lockPath: lockPath, reason: String(cString: strerror(code))))
        }
        try result.get()
        return RunLock(lockPath: lockPath, key: key)
    }

    private init(lockPath: String, key: FileKey) {
        self.lockPath = lockPath
        self.key = key
    }

    deinit {
        let key = self.key
        Self.held.withLock { table in
            guard var entry = table[key] else { return }
            entry.holders -= 1
            if entry.holders > 0 {
                table[key] = entry
            } else {
                table[key] = nil
                // Closing the last descriptor of the open file description releases the flock.
                close(entry.descriptor)
            }
        }
    }

    /// `pid 1234, started 2026-...Z` into the lock file, for the message a blocked run prints.
    private static func writeHolder(_ descriptor: Int32) {
        let text = "pid \(getpid()), started \(currentTimestamp())\n"
        _ = ftruncate(descriptor, 0)
        var bytes = Array(text.utf8)
        _ = pwrite(descriptor, &bytes, bytes.count, 0)
    }

    private static func readHolder(_ descriptor: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let text = trimmed(String(decoding: buffer.prefix(count).prefix { $0 != 0x0A }, as: UTF8.self))
        return text.isEmpty ? nil : text
    }

    /// Leaves `failed run <id>: <message>` in the lock file, after the holder line, for a run
    /// whose failure the database itself cannot take (a full disk): the next writer records
    /// it (``takeFailureNote(databasePath:)``). Rewriting a few hundred bytes of a file that
    /// exists needs no new room on the disk.
    public static func leaveFailureNote(databasePath: String, runId: Int64, message: String) {
        let descriptor = open(lockPath(forDatabase: databasePath), O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let holder = readHolder(descriptor) ?? ""
        let oneLine = String(message.map { $0 == "\n" || $0 == "\r" ? " " : $0 }.prefix(1000))
        var bytes = Array("\(holder)\nfailed run \(runId): \(oneLine)\n".utf8)
        _ = pwrite(descriptor, &bytes, bytes.count, 0)
        _ = ftruncate(descriptor, off_t(bytes.count))
    }

    /// The failure note the lock file held when this process took the lock, once.
    public static func takeFailureNote(databasePath: String) -> (runId: Int64, message: String)? {
        let path = lockPath(forDatabase: databasePath)
        return notes.withLock { $0.removeValue(forKey: path) }
    }

    private static func readFailureNote(_ descriptor: Int32) -> (runId: Int64, message: String)? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        for line in String(decoding: buffer.prefix(count), as: UTF8.self).split(separator: "\n") where line.hasPrefix("failed run ") {
            let rest = line.dropFirst("failed run ".count)
            guard let colon = rest.firstIndex(of: ":"), let runId = Int64(rest[..<colon]) else { continue }
            return (runId, String(rest[rest.index(after: colon)...].drop { $0 == " " }))
        }
        return nil
    }
}

/// Why a writer could not take the run lock.
public enum RunLockError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Another process is writing to the database.
    case locked(databasePath: String, lockPath: String, holder: String?)
    /// The lock file cannot be created or locked (permissions, read-only directory).
    case unusable(lockPath: String, reason: String)

    public var description: String {
        switch self {
        case .locked(let databasePath, let lockPath, let holder):
            let who = holder.map { "another s1ingest run (\($0))" } ?? "another s1ingest run"
            return "\(who) is writing to \(databasePath); this run did nothing. Try again when it has finished (lock: \(lockPath))"
        case .unusable(let lockPath, let reason):
            return "cannot take the lock \(lockPath): \(reason)"
        }
    }
}

/// `text` without leading and trailing white space.
private func trimmed(_ text: String) -> String {
    let space: Set<Character> = [" ", "\n", "\r", "\t"]
    var rest = Substring(text)
    while let first = rest.first, space.contains(first) { rest = rest.dropFirst() }
    while let last = rest.last, space.contains(last) { rest = rest.dropLast() }
    return String(rest)
}
