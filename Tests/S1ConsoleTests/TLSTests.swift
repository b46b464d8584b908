import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

/// HTTPS against the mock console serving a certificate for 127.0.0.1 signed by a private
/// test CA (`Fixtures/tls`): certificate checks are on, and `--ca-file` is how that CA is trusted.
@Suite struct TLSTests {
    @Test func thePrivateCAFromCAFileLetsEveryAnalysisIn() async throws {
        let bench = try await IngestBench.start(count: 12, tls: true)
        #expect(bench.mock.baseURL.hasPrefix("https://127.0.0.1:"))
        var options = try bench.options()
        options.client.caFile = Fixture.tlsPath("test-ca.pem")
        let summary = try await bench.run(options)
        await bench.stop()
        #expect(summary.status == .ok)
        #expect(summary.counts.stored == 12)
        #expect(try bench.database().scalar("SELECT count(*) FROM raw_analyses") == .integer(12))
    }

    @Test func withoutTheCAOrWithAnotherOneTheCertificateIsRefusedAndNothingStored() async throws {
        for caFile in [nil, Fixture.tlsPath("other-ca.pem")] {
            let bench = try await IngestBench.start(count: 6, tls: true)
            var options = try bench.options(maxAttempts: 2)
            options.client.caFile = caFile
            let summary = try await bench.run(options)
            let analysisRequests = bench.mock.analysisRequests
            await bench.stop()
            #expect(summary.status == .failed)
            #expect(summary.counts.stored == 0)
            let message = summary.message ?? ""
            #expect(message.contains("TLS certificate check failed") && message.contains("--ca-file"), "message: \(message)")
            // The handshake failed, so the console never saw a request (nor the token).
            #expect(analysisRequests == 0)
            #expect(try bench.database().scalar("SELECT count(*) FROM threats") == .integer(0))
        }
    }

    @Test func plainHTTPToAnHTTPSConsoleFailsClearly() async throws {
        let bench = try await IngestBench.start(count: 3, tls: true)
        let plain = bench.mock.baseURL.replacingOccurrences(of: "https://", with: "http://")
        var options = try bench.options(maxAttempts: 1)
        options.endpoint = try ConsoleEndpoint(url: plain, token: bench.token)
        let summary = try await bench.run(options)
        await bench.stop()
        // Three IDs are too few to conclude the console is unreachable: each one fails.
        #expect(summary.status == .partial)
        #expect(summary.counts.stored == 0)
        #expect(summary.counts.failed == 3)
        #expect(summary.failures.allSatisfy { $0.1.contains("closed the connection") })
    }
}
