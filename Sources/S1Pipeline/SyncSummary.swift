import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// What a sync did.
public struct SyncSummary: Sendable {
    /// How the whole sync ended: a listing failure is `failed`, else the drain's status.
    public var status: RunStatus = .running
    public var message: String?
    public var authenticationFailed = false
    /// The console, as the database names it.
    public var console: ConsoleRef? = nil
    /// The `sync_state` key (console, and site filter).
    public var stateKey = ""
    /// The watermark stored before this run (nil on the first).
    public var previousWatermark: String?
    /// The `updatedAt__gte` the listing started from: `--since`, or the stored watermark
    /// less the overlap (`SyncOptions.overlapSeconds`).
    public var listedFrom = ""
    /// Where the watermark stands now (unchanged when it could not move).
    public var watermark: String?
    /// True when this run moved the watermark forward.
    public var watermarkAdvanced = false
    /// True when another process was listing the console (a shared database): this run only
    /// drained the queue and left the watermark alone.
    public var listingSkipped = false
    /// True when every page of the listing was read.
    public var listingComplete = false
    public var pages = 0
    /// Items in the listing (boundary re-reads included).
    public var listed = 0
    /// Listed items already stored with the same updatedAt (boundary re-reads, unchanged): not fetched.
    public var alreadyStored = 0
    /// List items that could not be used (no threat ID, no `updatedAt`), skipped with a warning.
    public var listSkipped = 0
    /// IDs put in the queue.
    public var enqueued = 0
    /// List requests made and repeated.
    public var listRequests = 0
    public var listRetries = 0
    /// Fetched threats whose analysis was older (`threatInfo.updatedAt`) than their list entry:
    /// the console served a version behind the one it listed.
    public var behindList = 0
    /// Of `behindList`, those that hold the watermark back so the next run fetches them again.
    public var behindListHeld = 0
    /// The drain of the queue (nil when the listing failed before it).
    public var ingest: IngestSummary?
    public var elapsedSeconds = 0.0
}
