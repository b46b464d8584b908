import S1Storage
import S1Common
import S1JSON
import S1Model
import CSQLite
import Foundation
import Synchronization

/// Copies the write-ahead log into the database file from a thread of its own, so the one
/// writer does not stop at every commit to do it (inline checkpoints cost about a tenth of
/// import time, measured with perf). Checkpoints are PASSIVE: they never block anyone.
///
/// A WAL only restarts from its beginning when a checkpoint has copied every frame, which a
/// checkpoint running beside a busy writer never does: so after a commit that leaves the
/// WAL larger than `restartBytes`, the writer calls `commitDone()` and waits for one pass
/// (by then little is left to copy), and its next transaction rewinds the WAL. The WAL
/// stays bounded and memory flat.
public final class WALCheckpointer: Sendable {
    /// State shared with the checkpoint thread; every access holds `condition`'s lock.
    private final class Shared: @unchecked Sendable {
        package let condition = NSCondition()
        package var stopped = false
        package var requested = 0
        package var completed = 0
    }

    private let shared = Shared()
    private let finished = DispatchSemaphore(value: 0)
    private let framesBox = FrameCounter()
    /// WAL size, in frames (pages), after which `commitDone()` waits for a full pass.
    public let restartFrames: Int

    /// Starts checkpointing `writer`'s file every `interval`, and counts the writer's WAL
    /// frames; the WAL restarts once it holds about `restartBytes` (whatever the page size).
    public init(writer: Database, interval: Duration = .milliseconds(200), restartBytes: Int = 64 << 20) throws {
        let pageSize = Int(try writer.scalar("PRAGMA page_size").integerValue ?? 4096)
        self.restartFrames = max(16, restartBytes / max(512, pageSize))
        try writer.execute("PRAGMA wal_autocheckpoint=0")
        framesBox.install(on: writer)
        let box = UncheckedBox(try Database(path: writer.path, mode: .readWrite))
        let thread = Thread { [shared, finished] in
            let database = box.value
            let condition = shared.condition
            while true {
                condition.lock()
                if shared.requested <= shared.completed && !shared.stopped {
                    _ = condition.wait(until: Date().addingTimeInterval(interval.seconds))
                }
                let generation = shared.requested
                let stop = shared.stopped
                condition.unlock()
                try? database.execute("PRAGMA wal_checkpoint(PASSIVE)")
                condition.lock()
                shared.completed = max(shared.completed, generation)
                condition.broadcast()
                condition.unlock()
                if stop { break }
            }
            finished.signal()
        }
        thread.name = "s1ingest-checkpoint"
        thread.start()
    }

    /// Call after each commit: when the WAL has grown past `restartFrames`, waits for a
    /// checkpoint pass to finish, so the next transaction starts the WAL afresh.
    public func commitDone() {
        guard framesBox.frames >= restartFrames else { return }
        let condition = shared.condition
        condition.lock()
        shared.requested += 1
        let target = shared.requested
        condition.broadcast()
        while shared.completed < target { condition.wait() }
        condition.unlock()
    }

    /// Stops the thread after a last checkpoint, and waits for it.
    public func stop() {
        let condition = shared.condition
        condition.lock()
        let wasStopped = shared.stopped
        shared.stopped = true
        condition.broadcast()
        condition.unlock()
        if !wasStopped { finished.wait() }
    }
}

/// The writer's WAL size in frames, as SQLite reports it after each commit (`sqlite3_wal_hook`).
package final class FrameCounter: @unchecked Sendable {
    private let value = Mutex(0)

    package var frames: Int { value.withLock { $0 } }

    package func install(on database: Database) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(database.handle, { context, _, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<FrameCounter>.fromOpaque(context).takeUnretainedValue().value.withLock { $0 = Int(frames) }
            return SQLITE_OK
        }, context)
        database.retainedResources.append(self)
    }
}

/// Hands a non-Sendable value to exactly one other thread, which becomes its only user.
package final class UncheckedBox<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}
