import Foundation
import Testing
import S1IngestCore
import S1MockConsole
import S1Testing

/// Several `ingest --queue` workers against one PostgreSQL queue and a mock console.
@Suite(.serialized) struct PostgresWorkersTests {
    @Test func threeWorkersDrainOneQueueStoringEachAnalysisOnce() async throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase()
        let provider = cluster.provider(database)
        let bench = try await IngestBench.start(count: 300)
        let ids = (0 ..< bench.set.count).map(bench.set.threatId)
        try PostgresCluster.enqueue(ids, for: bench.mock.baseURL, into: provider)
        let options = try bench.options(concurrency: 4, source: .queue)
        async let one = Ingester(options: options, store: provider).run(stop: StopRequest())
        async let two = Ingester(options: options, store: provider).run(stop: StopRequest())
        async let three = Ingester(options: options, store: provider).run(stop: StopRequest())
        let summaries = try await [one, two, three]
        await bench.stop()
        // Every analysis fetched and stored by exactly one worker (a second fetch would count as unchanged).
        let written = summaries.map { $0.outcomes.values.reduce(0, +) }
        #expect(written.reduce(0, +) == 300, "analyses written per worker: \(written)")
        #expect(summaries.map { $0.outcomes[.inserted] ?? 0 }.reduce(0, +) == 300)
        #expect(summaries.allSatisfy { $0.status == .ok }, "\(summaries.map(\.status))")
        #expect(try cluster.psql(database, "SELECT count(*) FROM threats") == "300")
        #expect(try cluster.psql(database, "SELECT count(*) FROM ingest_queue WHERE state = 'done' AND lease_owner IS NULL") == "300")
        #expect(try cluster.psql(database, "SELECT count(*) FROM ingest_runs WHERE status = 'ok'") == "3")
    }
}
