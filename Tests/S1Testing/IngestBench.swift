import Foundation
import S1IngestCore
import S1MockConsole

/// A mock console and a database for one ingest test.
package struct IngestBench: Sendable {
    package let scratch: TemporaryDirectory
    package let mock: MockConsole
    package let set: SyntheticAnalyses
    package let token: String
    package var db: String { scratch.path("ingest.sqlite") }

    /// `tls`: serve HTTPS with the test certificate of `Fixtures/tls` (signed by `test-ca.pem`).
    /// `idBase`: where the mock's threat and agent IDs start (two benches with bases far apart
    /// are two consoles that share no ID); `scratch`: share another bench's directory (and database).
    package static func start(count: Int, faults: FaultPlan = FaultPlan(), gzip: Bool = false, tls: Bool = false, idBase: Int = 0,
                              scratch: TemporaryDirectory? = nil) async throws -> IngestBench {
        let set = SyntheticAnalyses(count: count, seed: 11, idBase: idBase)
        let token = "test-token-\(UUID().uuidString)"
        var configuration = MockConsoleConfiguration(analyses: set, token: token, faults: faults)
        configuration.gzip = gzip
        if tls {
            configuration.tls = MockConsoleTLS(certificateChainFile: Fixture.tlsPath("server-cert.pem"),
                                               privateKeyFile: Fixture.tlsPath("server-key.pem"))
        }
        return IngestBench(scratch: try scratch ?? TemporaryDirectory(), mock: try await MockConsole.start(configuration), set: set, token: token)
    }

    private init(scratch: TemporaryDirectory, mock: MockConsole, set: SyntheticAnalyses, token: String) {
        self.scratch = scratch
        self.mock = mock
        self.set = set
        self.token = token
    }

    /// Options for ingesting `ids` (all of the set by default) with fast retries.
    package func options(ids: [String]? = nil, concurrency: Int = 8, maxAttempts: Int = 5, token: String? = nil,
                 requestDeadline: Duration = .seconds(10), maxResponseBytes: Int = 32 << 20, rate: Double? = nil,
                 source: IngestSource? = nil) throws -> IngestOptions {
        let endpoint = try ConsoleEndpoint(url: mock.baseURL, token: token ?? self.token)
        return IngestOptions(
            databasePath: db, endpoint: endpoint, source: source ?? .ids(ids ?? (0..<set.count).map(set.threatId), label: "test"),
            client: ConsoleClientSettings(concurrency: concurrency, connectTimeout: .seconds(2), readTimeout: .seconds(5),
                                          requestDeadline: requestDeadline, maxResponseBytes: maxResponseBytes),
            retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50)),
            maxRequestsPerSecond: rate)
    }

    package func run(_ options: IngestOptions, stop: StopRequest = StopRequest()) async throws -> IngestSummary {
        try await Ingester(options: options).run(stop: stop)
    }

    package func database() throws -> Database { try StoreOpener.openForReading(path: db) }

    package func queueStates() throws -> [String: Int] {
        Dictionary(uniqueKeysWithValues: try IngestQueue.counts(database()).map { ($0.state, $0.count) })
    }

    package func stop() async { try? await mock.shutdown() }
}
