import Foundation
import Synchronization
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

/// The watermark's overlap (threats that reach the list late) and its hold for analyses
/// behind their list entry.
@Suite struct SyncWatermarkTests {
    /// Runs one sync with `revise` applied to every listed item, at `now` when given.
    func sync(_ bench: IngestBench, _ options: SyncOptions, now: Double? = nil,
              revise: ((ListedThreat) -> ListedThreat?)? = nil) async throws -> (SyncSummary, [String]) {
        let syncer = Syncer(options: options)
        if let now { syncer.now = { now } }
        syncer.reviseListedItem = revise
        let warnings = Warnings()
        syncer.onWarning = { warnings.append($0) }
        let summary = try await syncer.run()
        return (summary, warnings.lines)
    }

    final class Warnings: Sendable {
        private let storage = Mutex<[String]>([])
        func append(_ line: String) { storage.withLock { $0.append(line) } }
        var lines: [String] { storage.withLock { $0 } }
    }

    @Test func aThreatListedLateWithAnOlderUpdatedAtIsPickedUpByTheOverlap() async throws {
        let bench = try await IngestBench.start(count: 100)
        defer { Task { await bench.stop() } }
        // Threat 95 was updated 148 s before the newest (99), but the console's list shows it
        // only after the first sync (replication lag): that sync moves the watermark past it.
        let late = bench.set.threatId(95)
        let (first, _) = try await sync(bench, try bench.syncOptions(), revise: { $0.threatId == late ? nil : $0 })
        #expect(first.status == .ok)
        #expect(first.watermark == bench.latestUpdatedAt)
        #expect(normalizedTimestamp(bench.mock.updatedAt(of: 95))! < first.watermark!)
        #expect(try count(bench.database(), "threats") == 99)

        // Without an overlap the next sync lists from the watermark and never sees it.
        let blind = try await bench.sync(try bench.syncOptions(since: nil, overlapSeconds: 0))
        #expect(blind.listedFrom == first.watermark)
        #expect(blind.enqueued == 0)

        // With the overlap (5 minutes by default) it is listed, and it alone is fetched: the
        // other threats of the overlap are stored with the listed updatedAt.
        let requestsBefore = bench.mock.analysisRequests
        let second = try await bench.sync(try bench.syncOptions(since: nil))
        #expect(second.status == .ok, "\(second.message ?? "")")
        #expect(second.listedFrom == timestamp(first.watermark!, minusSeconds: 300))
        #expect(second.listed == bench.listedCount(from: second.listedFrom))
        #expect(second.listed > 2)
        #expect(second.enqueued == 1)
        #expect(second.alreadyStored == second.listed - 1)
        #expect(second.ingest?.counts.requested == 1)
        #expect(bench.mock.analysisRequests - requestsBefore == 1)
        #expect(bench.mock.requestCount(forThreat: late) == 1)
        #expect((0..<100).allSatisfy { bench.mock.requestCount(forThreat: bench.set.threatId($0)) == 1 })
        let database = try bench.database()
        #expect(try count(database, "threats") == 100)
        #expect(try database.scalar("SELECT updated_at FROM threats WHERE threat_id = ?", [.text(late)]).textValue
                == normalizedTimestamp(bench.mock.updatedAt(of: 95)))
        #expect(try bench.watermark(try bench.syncOptions()) == bench.latestUpdatedAt, "the watermark never moves back")
    }

    @Test func anAnalysisOlderThanItsListEntryHoldsTheWatermarkUntilTheHoldEnds() async throws {
        let bench = try await IngestBench.start(count: 100)
        defer { Task { await bench.stop() } }
        let options = try bench.syncOptions()
        #expect(try await bench.sync(options).status == .ok)
        // Threats 40 then 70 change. The list announces 40 half a second later than the
        // version its analysis endpoint serves (the endpoint lags behind the list).
        bench.mock.touch([40])
        bench.mock.touch([70])
        let served = try #require(normalizedTimestamp(bench.mock.updatedAt(of: 40)))
        let announced = String(served.prefix(20)) + "500000Z"
        #expect(served < announced && announced < normalizedTimestamp(bench.mock.updatedAt(of: 70))!)
        let id40 = bench.set.threatId(40)
        let lagging: (ListedThreat) -> ListedThreat? = {
            $0.threatId == id40 ? ListedThreat(threatId: id40, updatedAt: announced) : $0
        }
        let soon = Double(try #require(wholeSecondsSince1970(announced))) + 60

        // The analysis is stored, but it is not the version listed: the watermark stays at
        // the announced updatedAt instead of moving past it to 70's.
        let (held, warnings) = try await sync(bench, try bench.syncOptions(since: nil), now: soon, revise: lagging)
        #expect(held.status == .ok, "\(held.message ?? "")")
        #expect(held.enqueued == 2)
        #expect(held.behindList == 1 && held.behindListHeld == 1)
        #expect(try bench.watermark(options) == announced)
        #expect(warnings.contains { $0.contains(id40) && $0.contains("1 hold the watermark back") })
        let database = try bench.database()
        #expect(try database.scalar("SELECT updated_at FROM threats WHERE threat_id = ?", [.text(id40)]).textValue == served)

        // The next run lists it again (stored updatedAt differs) and fetches it again; still
        // behind, still held. 70 is stored with its listed updatedAt and not fetched again.
        let (again, _) = try await sync(bench, try bench.syncOptions(since: nil), now: soon + 3600, revise: lagging)
        #expect(again.enqueued == 1)
        #expect(again.behindListHeld == 1)
        #expect(bench.mock.requestCount(forThreat: id40) == 3)
        #expect(bench.mock.requestCount(forThreat: bench.set.threatId(70)) == 2)
        #expect(try bench.watermark(options) == announced)

        // A day after its listed updatedAt it no longer holds the watermark: a warning says
        // so, and the watermark moves on to the newest listed.
        let (released, lastWarnings) = try await sync(bench, try bench.syncOptions(since: nil), now: soon + 2 * 86_400, revise: lagging)
        #expect(released.behindList == 1 && released.behindListHeld == 0)
        #expect(lastWarnings.contains { $0.contains("no longer do") })
        #expect(try bench.watermark(options) == bench.latestUpdatedAt)
        #expect(try bench.queueStates() == ["done": 100])
    }

    @Test func timestampsMoveBackExactly() {
        #expect(timestamp("2026-01-01T00:02:00.249133Z", minusSeconds: 300) == "2025-12-31T23:57:00.249133Z")
        #expect(timestamp("2024-03-01T00:00:00.000001Z", minusSeconds: 86_400) == "2024-02-29T00:00:00.000001Z")
        #expect(timestamp("2026-01-31T00:00:00Z", minusSeconds: 0) == "2026-01-31T00:00:00.000000Z")
        #expect(timestamp("1970-01-01T00:00:10.5Z", minusSeconds: 20) == "1969-12-31T23:59:50.500000Z")
        #expect(timestamp("yesterday", minusSeconds: 1) == nil)
        #expect(timestamp("2026-13-01T00:00:00Z", minusSeconds: 1) == nil)
        for seconds: Int64 in [0, 1, 86_399, 951_782_400, 1_700_000_000, 4_102_444_800, -1, -86_401] {
            #expect(wholeSecondsSince1970(formatTimestamp(secondsSince1970: Double(seconds))) == seconds, "\(seconds)")
        }
    }
}
