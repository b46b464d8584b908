import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import S1MockConsole

/// Analyses per second through real loopback HTTP. Off by default; run with
/// `S1MOCK_BENCHMARK=1 swift test -c release -Xswiftc -enable-testing --filter ThroughputBenchmark`
/// (`S1MOCK_BENCHMARK_COUNT`, `S1MOCK_BENCHMARK_CONCURRENCY` to change the load).
@Suite struct ThroughputBenchmark {
    static let environment = ProcessInfo.processInfo.environment
    static let enabled = environment["S1MOCK_BENCHMARK"] != nil

    @Test(.enabled(if: enabled)) func analysesPerSecond() async throws {
        let count = Int(Self.environment["S1MOCK_BENCHMARK_COUNT"] ?? "") ?? 20_000
        let concurrency = Int(Self.environment["S1MOCK_BENCHMARK_CONCURRENCY"] ?? "") ?? 16
        let analyses = SyntheticAnalyses(count: count)

        let clock = ContinuousClock()
        let generationStart = clock.now
        var bytes = 0
        for index in 0..<min(count, 5_000) { bytes += analyses.body(index).utf8.count }
        let generation = clock.now - generationStart
        let perBody = generation / min(count, 5_000)
        print("body generation: \(perBody) per body, average \(bytes / min(count, 5_000)) bytes")

        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        try await withConsole(MockConsoleConfiguration(analyses: analyses), clientConfiguration: clientConfiguration, threads: 2) {
            console, client in
            let start = clock.now
            let received = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var total = 0
                        for index in stride(from: worker, to: count, by: concurrency) {
                            let request = HTTPClientRequest(url: console.analysisURL(analyses.threatId(index)))
                            let response = try await client.execute(request, timeout: .seconds(30))
                            total += try await response.body.collect(upTo: 1 << 24).readableBytes
                        }
                        return total
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("mock console: \(count) analyses in \(elapsed), \(Int(Double(count) / seconds)) analyses/s, "
                  + "\(received / 1_000_000) MB, \(concurrency) connections, peak in flight \(console.peakInFlight)")
            #expect(console.analysisRequests == count)
            #expect(console.inFlight == 0)
        }
    }
}
