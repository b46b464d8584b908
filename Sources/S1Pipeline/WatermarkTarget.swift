import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// Where the watermark may move once a sync's drain has committed: only over listed threats
/// whose listed version is stored (or that are gone from the console).
///
/// A listed threat holds the watermark back, to its listed `updatedAt`, while it is
///  - still pending, or failed with a retryable error, in the queue; or
///  - fetched, but the analysis stored for it is older (`threatInfo.updatedAt`) than its
///    list entry (the console's analysis endpoint served a version behind its list), for up
///    to `SyncOptions.behindListHoldSeconds` after that `updatedAt`. The next run lists it
///    again, finds the stored `updated_at` different and fetches it again. After the hold it
///    no longer blocks the watermark; it is fetched again when it next changes.
///
/// With none held back, the watermark moves to the newest `updatedAt` listed.
package struct WatermarkTarget {
    /// Where the watermark may move; nil when nothing was listed.
    package var target: String?
    /// Fetched threats whose stored analysis is older than their list entry.
    package var behindList: [ListedThreat] = []
    /// Of `behindList`, those holding the watermark back.
    package var held: [ListedThreat] = []

    /// The target for `listed` (the threats this run enqueued), `maxSeen` (the newest listed
    /// `updatedAt`) and `holdCutoff` (threats behind the list whose listed `updatedAt` is at
    /// or after it hold the watermark).
    package init(_ store: any SyncStateStore, listed: [ListedThreat], maxSeen: String?, holdCutoff: String) throws {
        var earliestOpen: String?
        for item in listed {
            guard let row = try store.fetchState(threatId: item.threatId) else { continue }
            var open = row.state == .pending || (row.state == .failed && row.retryable)
            if row.state == .done, row.stored, row.storedUpdatedAt.map({ $0 < item.updatedAt }) ?? true {
                behindList.append(item)
                if item.updatedAt >= holdCutoff {
                    held.append(item)
                    open = true
                }
            }
            if open, earliestOpen.map({ item.updatedAt < $0 }) ?? true { earliestOpen = item.updatedAt }
        }
        target = earliestOpen ?? maxSeen
    }
}
