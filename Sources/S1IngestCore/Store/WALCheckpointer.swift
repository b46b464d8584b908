import Foundation
import Synchronization

/// Copies the write-ahead log into the database file from a thread of its own, so the one
/// writer never stops to do it at commit (which cost about a tenth of import time, measured
/// with perf). Checkpoints are PASSIVE: they never block the writer or readers.
///
/// Start it after setting `PRAGMA wal_autocheckpoint=0` on the writer; `stop()` ends the
/// thread after one last checkpoint.
public final class WALCheckpointer: Sendable {
    private final class Flags: Sendable {
        let stopped = Mutex(false)
        let finished = Mutex(false)
    }

    private let flags = Flags()
    private let done = DispatchSemaphore(value: 0)

    /// Starts checkpointing `path` every `interval`.
    public init(path: String, interval: Duration = .milliseconds(250)) throws {
        let database = try Database(path: path, mode: .readWrite)
        let box = UncheckedBox(database)
        let thread = Thread { [flags, done] in
            let database = box.value
            let pause = interval.seconds
            while !flags.stopped.withLock({ $0 }) {
                Thread.sleep(forTimeInterval: pause)
                try? database.execute("PRAGMA wal_checkpoint(PASSIVE)")
            }
            try? database.execute("PRAGMA wal_checkpoint(PASSIVE)")
            done.signal()
        }
        thread.name = "s1ingest-checkpoint"
        thread.start()
    }

    /// Stops the thread after a last checkpoint, and waits for it.
    public func stop() {
        flags.stopped.withLock { $0 = true }
        let alreadyFinished = flags.finished.withLock { value -> Bool in
            defer { value = true }
            return value
        }
        if !alreadyFinished { done.wait() }
    }
}

/// Hands a non-Sendable value to exactly one other thread, which becomes its only user.
final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
