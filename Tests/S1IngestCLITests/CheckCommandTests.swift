import Foundation
import Testing
@testable import S1IngestCore
import S1Testing
import S1MockConsole

/// `s1ingest check` through the real binary against the mock console over HTTP and HTTPS.
@Suite struct CheckCommandTests {
    static let token = "check-token-0123456789abcdef"

    static var fixtures: URL {
        URL(fileURLWithPath: Fixture.tlsPath("server-cert.pem")).deletingLastPathComponent()
    }

    func steps(_ stdout: String) throws -> [String: (outcome: String, detail: String)] {
        let report = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "\(stdout)")
        let steps = (report["steps"] as? [[String: String]]) ?? []
        return Dictionary(uniqueKeysWithValues: steps.map { ($0["name"] ?? "", ($0["outcome"] ?? "", $0["detail"] ?? "")) })
    }

    @Test func aGoodConsoleAndTokenPassEveryStep() async throws {
        var configuration = MockConsoleConfiguration(analyses: SyntheticAnalyses(count: 30, seed: 3), token: Self.token)
        configuration.tls = MockConsoleTLS(certificateChainFile: Self.fixtures.appendingPathComponent("server-cert.pem").path,
                                           privateKeyFile: Self.fixtures.appendingPathComponent("server-key.pem").path)
        let console = try await MockConsole.start(configuration)
        defer { Task { try? await console.shutdown() } }
        let result = try await runBinary(["check", "--console", console.baseURL, "--ca-file",
                                          Self.fixtures.appendingPathComponent("test-ca.pem").path, "--json"],
                                         environment: ["S1_API_TOKEN": Self.token])
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        let steps = try steps(result.stdout)
        #expect(steps["dns"]?.outcome == "ok" && steps["tcp"]?.outcome == "ok")
        #expect(steps["tls"]?.outcome == "ok" && steps["tls"]?.detail.contains("expires in") == true, "\(String(describing: steps["tls"]))")
        #expect(steps["token"]?.outcome == "ok")
        #expect(steps["scope"]?.detail.contains("30 threats visible") == true, "\(String(describing: steps["scope"]))")
        #expect(steps["clock"]?.outcome == "ok", "\(String(describing: steps["clock"]))")
        #expect(!result.stdout.contains(Self.token))
        // Without the private CA the chain is refused, before any request carries the token.
        let refused = try await runBinary(["check", "--console", console.baseURL], environment: ["S1_API_TOKEN": Self.token])
        #expect(refused.status == 2)
        #expect(refused.stdout.contains("failed   tls") && refused.stdout.contains("--ca-file"), "\(refused.stdout)")
        #expect(console.listRequests == 2)
    }

    @Test func aRefusedTokenExitsWith3AndAClosedPortWith2() async throws {
        let console = try await MockConsole.start(MockConsoleConfiguration(analyses: SyntheticAnalyses(count: 3, seed: 3), token: Self.token))
        let url = console.baseURL
        let refused = try await runBinary(["check", "--console", url], environment: ["S1_API_TOKEN": "not-the-token-at-all"])
        #expect(refused.status == 3, "\(refused.stdout)")
        #expect(refused.stdout.contains("failed   token  401"), "\(refused.stdout)")
        try await console.shutdown()
        // A port held closed (the mock's own may be handed to a suite running beside this one).
        let closed = try await runBinary(["check", "--console", ClosedPort.url(), "--json"], environment: ["S1_API_TOKEN": Self.token])
        #expect(closed.status == 2)
        let steps = try steps(closed.stdout)
        #expect(steps["tcp"]?.outcome == "failed" && steps["tcp"]?.detail.contains("connection refused") == true)
        #expect(steps["token"] == nil)
    }

    @Test func theClockStepReadsTheDateHeader() {
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let inStep = ConsoleCheck.clock(formatter.string(from: now), asked: now, answered: now)
        #expect(inStep.outcome == .ok)
        let ahead = ConsoleCheck.clock(formatter.string(from: now.addingTimeInterval(300)), asked: now, answered: now)
        #expect(ahead.outcome == .warning && ahead.detail.contains("300 s ahead of ours"), "\(ahead.detail)")
    }
}
