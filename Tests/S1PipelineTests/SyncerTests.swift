import Foundation
import Synchronization
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

@Suite struct SyncerTests {
    @Test func firstSyncPagesFiveThousandThreatsAndStoresEachOnce() async throws {
        let bench = try await IngestBench.start(count: 5000)
        defer { Task { await bench.stop() } }
        let options = try bench.syncOptions()
        let summary = try await bench.sync(options)
        #expect(summary.status == .ok, "\(summary.message ?? "")")
        #expect(summary.listingComplete)
        #expect(summary.listed == 5000)
        #expect(summary.pages == 5)
        #expect(bench.mock.listRequests == 5)
        #expect(summary.enqueued == 5000)
        #expect(summary.ingest?.counts.stored == 5000)
        let database = try bench.database()
        #expect(try count(database, "threats") == 5000)
        #expect(try count(database, "raw_analyses") == 5000)
        #expect(try bench.queueStates() == ["done": 5000])
        #expect((0..<5000).allSatisfy { bench.mock.requestCount(forThreat: bench.set.threatId($0)) == 1 })
        // The watermark is the newest updatedAt listed, and the run that committed it is recorded.
        #expect(try bench.watermark(options) == bench.latestUpdatedAt)
        #expect(summary.watermarkAdvanced)
        #expect(try database.scalar("SELECT command || ':' || status || ':' || stored FROM ingest_runs") == "sync:ok:5000")
        #expect(try database.scalar("SELECT run_id FROM sync_state").integerValue == summary.ingest?.runId)
    }

    @Test func secondSyncFetchesOnlyTheThreatsThatChanged() async throws {
        let bench = try await IngestBench.start(count: 400)
        defer { Task { await bench.stop() } }
        let first = try await bench.sync(try bench.syncOptions(pageSize: 100))
        #expect(first.status == .ok)
        let firstWatermark = try #require(first.watermark)
        // Nothing changed: the last 5 minutes before the watermark (the overlap) are listed
        // again, boundary item included, and skipped as already stored.
        let idle = try await bench.sync(try bench.syncOptions(since: nil, pageSize: 100))
        #expect(idle.listedFrom == timestamp(firstWatermark, minusSeconds: 300))
        #expect(idle.listed == bench.listedCount(from: idle.listedFrom))
        #expect(idle.listed > 1)
        #expect(idle.alreadyStored == idle.listed)
        #expect(idle.enqueued == 0)
        #expect(idle.ingest?.counts.requested == 0)
        #expect(!idle.watermarkAdvanced)

        let touched = [3, 17, 250, 399]
        bench.mock.touch(touched)
        let second = try await bench.sync(try bench.syncOptions(since: nil, pageSize: 100))
        #expect(second.status == .ok)
        #expect(second.enqueued == touched.count)
        #expect(second.alreadyStored == second.listed - touched.count, "the overlap's threats are not fetched again")
        #expect(second.ingest?.counts.stored == touched.count)
        #expect(second.ingest?.outcomes[.updated] == touched.count)
        for index in 0..<400 {
            let expected = touched.contains(index) ? 2 : 1
            #expect(bench.mock.requestCount(forThreat: bench.set.threatId(index)) == expected, "threat \(index)")
        }
        let database = try bench.database()
        #expect(try count(database, "threats") == 400)
        for index in touched {
            let stored = try database.scalar("SELECT updated_at FROM threats WHERE threat_id = ?", [.text(bench.set.threatId(index))])
            #expect(stored.textValue == normalizedTimestamp(bench.mock.updatedAt(of: index)))
        }
        #expect(second.watermark == bench.latestUpdatedAt)
        #expect(second.watermark! > firstWatermark)
    }

    @Test func syncStoppedMidwayThenRunAgainStoresEveryThreatOnce() async throws {
        let bench = try await IngestBench.start(count: 300, faults: FaultPlan(latencyMilliseconds: 15))
        defer { Task { await bench.stop() } }
        let options = try bench.syncOptions(pageSize: 50, concurrency: 2)
        let stop = StopRequest()
        let stopped = try await bench.sync(options, stop: stop, onProgress: { if $0.done >= 20 { stop.request() } })
        #expect(stopped.status == .aborted)
        #expect(stopped.listingComplete)
        let database = try bench.database()
        let storedAfterStop = try count(database, "threats")
        #expect(storedAfterStop > 0 && storedAfterStop < 300)
        // The watermark covers only committed threats: every threat below it is stored.
        if let mark = try bench.watermark(options) {
            for index in 0..<300 where normalizedTimestamp(bench.mock.updatedAt(of: index))! < mark {
                #expect(try count(database, "threats", where: "threat_id = '\(bench.set.threatId(index))'") == 1,
                        "threat \(index) is below the watermark but not stored")
            }
        }
        #expect(try bench.watermark(options) != bench.latestUpdatedAt)

        let again = try await bench.sync(try bench.syncOptions(since: nil, pageSize: 50))
        #expect(again.status == .ok, "\(again.message ?? "")")
        #expect(try count(database, "threats") == 300)
        #expect(try database.scalar("SELECT count(DISTINCT threat_id) FROM threats").integerValue == 300)
        #expect(try bench.queueStates() == ["done": 300])
        #expect(try bench.watermark(options) == bench.latestUpdatedAt)
        // Stored threats were not fetched again; the others once more.
        let total = (0..<300).reduce(0) { $0 + bench.mock.requestCount(forThreat: bench.set.threatId($1)) }
        #expect(total <= 300 + 2 * 2, "at most the in-flight requests of the stopped run are repeated")
    }

    @Test func killedRunNeverMovesTheWatermarkAndTheNextRunResumes() async throws {
        // A run that dies after enqueueing (before the drain) leaves pending IDs and no watermark.
        let bench = try await IngestBench.start(count: 120)
        defer { Task { await bench.stop() } }
        do {
            let database = try StoreOpener.openForWriting(path: bench.db)
            let half = (0..<60).map(bench.set.threatId)
            try IngestQueue(database: database).enqueue(half, runId: nil)
            _ = try RunRecords.start(database, command: "sync", source: "queue", console: ConsoleRef(name: "default", url: bench.mock.baseURL))
        }
        let options = try bench.syncOptions()
        #expect(try bench.watermark(options) == nil)
        let summary = try await bench.sync(options)
        #expect(summary.status == .ok)
        #expect(summary.previousWatermark == nil)
        let database = try bench.database()
        #expect(try count(database, "threats") == 120)
        #expect(try bench.queueStates() == ["done": 120])
        #expect(try database.scalar("SELECT status FROM ingest_runs WHERE run_id = 1") == "aborted")
        #expect((0..<120).allSatisfy { bench.mock.requestCount(forThreat: bench.set.threatId($0)) == 1 })
    }

    @Test func aFirstSyncKilledEarlyIsResumedFromWhereItStarted() async throws {
        let bench = try await IngestBench.start(count: 50)
        defer { Task { await bench.stop() } }
        // Stopped before the listing: nothing listed, but the start point is remembered.
        let stop = StopRequest()
        stop.request()
        let first = try await bench.sync(try bench.syncOptions(), stop: stop)
        #expect(first.status == .aborted)
        #expect(first.listed == 0)
        // Run again without --since: it lists from 2020 (less the overlap) as the first run
        // meant to, not from "7 days ago" (which would miss every threat of this set).
        let again = try await bench.sync(try bench.syncOptions(since: nil))
        #expect(again.listedFrom == "2019-12-31T23:55:00.000000Z")
        #expect(again.status == .ok)
        #expect(try count(bench.database(), "threats") == 50)
        #expect(again.watermark == bench.latestUpdatedAt)
    }

    @Test func failedFetchesHoldTheWatermarkBackToTheOldestUnfinishedThreat() async throws {
        let bench = try await IngestBench.start(count: 100)
        defer { Task { await bench.stop() } }
        let options = try bench.syncOptions()
        let first = try await bench.sync(options)
        #expect(first.status == .ok)
        // Threats 40, 70 and 90 change (in that order); then every analysis request fails (503).
        bench.mock.touch([40])
        bench.mock.touch([70])
        bench.mock.touch([90])
        bench.mock.setFaults(FaultPlan(firstAttempts: Array(repeating: .serverError(status: 503), count: 20)))
        let partial = try await bench.sync(try bench.syncOptions(since: nil))
        bench.mock.setFaults(FaultPlan())
        #expect(partial.status == .partial)
        #expect(partial.enqueued == 3)
        #expect(partial.ingest?.counts.failed == 3)
        // Nothing of the three is committed: the watermark moves only up to the oldest of
        // them (everything listed before it is stored), so the next sync lists all three again.
        let oldestOpen = normalizedTimestamp(bench.mock.updatedAt(of: 40))
        #expect(try bench.watermark(options) == oldestOpen)
        #expect(try bench.watermark(options)! > first.watermark!)

        let recovered = try await bench.sync(try bench.syncOptions(since: nil))
        #expect(recovered.status == .ok, "\(recovered.message ?? "")")
        #expect(recovered.enqueued == 3)
        #expect(recovered.alreadyStored == recovered.listed - 3)
        #expect(recovered.watermark == bench.latestUpdatedAt)
        let database = try bench.database()
        for index in [40, 70, 90] {
            let stored = try database.scalar("SELECT updated_at FROM threats WHERE threat_id = ?", [.text(bench.set.threatId(index))])
            #expect(stored.textValue == normalizedTimestamp(bench.mock.updatedAt(of: index)))
        }
        #expect(try bench.queueStates() == ["done": 100])
    }

    @Test func notFoundThreatsDoNotHoldTheWatermark() async throws {
        // Threat 70 is a 404 (deleted on the console): not retryable, so it does not hold
        // the watermark back the way a retryable failure does.
        let bench = try await IngestBench.start(count: 100)
        defer { Task { await bench.stop() } }
        let options = try bench.syncOptions()
        bench.mock.setFaults(FaultPlan(notFoundIDs: [bench.set.threatId(70)]))
        let summary = try await bench.sync(options)
        #expect(summary.status == .partial)
        #expect(summary.ingest?.counts.notFound == 1)
        #expect(summary.watermark == bench.latestUpdatedAt)
    }

    @Test func aFirstSyncThatListsNothingReportsTheStartingPointItStored() async throws {
        let bench = try await IngestBench.start(count: 20)
        defer { Task { await bench.stop() } }
        // Every threat of the set was updated long before this "since".
        let since = "2030-01-01T00:00:00.000000Z"
        let summary = try await bench.sync(try bench.syncOptions(since: .timestamp(since)))
        #expect(summary.listed == 0)
        #expect(summary.status == .ok)
        #expect(!summary.watermarkAdvanced)
        #expect(summary.watermark == since)
        #expect(try SyncState.watermark(bench.database(), key: try bench.syncOptions().stateKey) == since)
    }

    @Test func firstSyncWithoutWatermarkReadsTheDefaultSevenDays() async throws {
        let bench = try await IngestBench.start(count: 300)
        defer { Task { await bench.stop() } }
        // "Now" is such that the 7-day window starts inside the set's updatedAt range.
        let now: Double = 1_700_000_000 + 11_063 + 604_800 - 5_000
        let cutoff = formatTimestamp(secondsSince1970: now - 7 * 86_400)
        let expected = (0..<300).filter { normalizedTimestamp(bench.mock.updatedAt(of: $0))! >= cutoff }.count
        #expect(expected > 50 && expected < 250)
        let summary = try await bench.sync(try bench.syncOptions(since: nil), now: now)
        #expect(summary.listedFrom == cutoff)
        #expect(summary.listed == expected)
        #expect(try count(bench.database(), "threats") == Int64(expected))
        // --since 24h from the same "now" lists less, and a later --since never moves the watermark.
        let narrow = try await bench.sync(try bench.syncOptions(since: .window(seconds: 86_400)), now: now)
        #expect(narrow.listedFrom == formatTimestamp(secondsSince1970: now - 86_400))
        #expect(!narrow.watermarkAdvanced)
    }

    @Test func siteFilterListsOnlyThatSiteAndKeepsItsOwnWatermark() async throws {
        let bench = try await IngestBench.start(count: 210)
        defer { Task { await bench.stop() } }
        let site = 1_286_405_255_257_023_125 + 3
        let expected = (0..<210).filter { bench.set.agentIndex($0) % 7 == 3 }.count
        #expect(expected > 0)
        let options = try bench.syncOptions(siteIds: [String(site)])
        let summary = try await bench.sync(options)
        #expect(summary.status == .ok)
        #expect(summary.listed == expected)
        #expect(summary.stateKey == bench.mock.baseURL + " sites=\(site)")
        let database = try bench.database()
        #expect(try count(database, "threats") == Int64(expected))
        #expect(try count(database, "threats", where: "detection_site_id <> '\(site)'") == 0)
        #expect(try bench.watermark(options) != nil)
        #expect(try bench.watermark(try bench.syncOptions()) == nil)
    }

    @Test func aRefusedTokenFailsTheListingAndRecordsTheRun() async throws {
        let bench = try await IngestBench.start(count: 10)
        defer { Task { await bench.stop() } }
        let options = try bench.syncOptions(token: "wrong")
        let summary = try await bench.sync(options)
        #expect(summary.status == .failed)
        #expect(summary.authenticationFailed)
        #expect(summary.ingest == nil)
        #expect(bench.mock.analysisRequests == 0)
        #expect(try bench.watermark(options) == "2020-01-01T00:00:00.000000Z", "only the start point, nothing covered")
        #expect(try bench.database().scalar("SELECT command || ':' || source || ':' || status FROM ingest_runs") == "sync:threat list:failed")
    }

    @Test func sinceParsesDurationsAndTimestamps() {
        #expect(SyncStart.parse("30min") == .window(seconds: 1800))
        #expect(SyncStart.parse("24h") == .window(seconds: 86_400))
        #expect(SyncStart.parse("7d") == .window(seconds: 604_800))
        #expect(SyncStart.parse("2w") == .window(seconds: 1_209_600))
        #expect(SyncStart.parse("2026-01-31T00:00:00Z") == .timestamp("2026-01-31T00:00:00.000000Z"))
        #expect(SyncStart.parse("2026-01-31T00:00:00.5+00:00") == .timestamp("2026-01-31T00:00:00.500000Z"))
        #expect(SyncStart.parse("2026-01-31") == .timestamp("2026-01-31T00:00:00.000000Z"))
        #expect(SyncStart.parse("2026-01-31T00:00:00+02:00") == .timestamp("2026-01-30T22:00:00.000000Z"))
        for bad in ["", "0d", "7", "d", "-3h", "7y", "yesterday", "2026-01-31T00:00:00+2", "30m", "2026-13-45"] {
            #expect(SyncStart.parse(bad) == nil, "\(bad)")
        }
    }
}
