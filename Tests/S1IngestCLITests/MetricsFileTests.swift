import Foundation
import S1Testing
import Testing
import S1MockConsole

/// `--metrics-file`: the Prometheus text format, read back by an independent parser (the
/// Python prometheus_client's, Debian's python3-prometheus-client).
@Suite(.serialized) struct MetricsFileTests {
    static let token = "metrics-token-0123456789abcdef"

    /// Every sample of the file as "name{label=value,...}" -> value, via prometheus_client.
    static func parse(_ path: String) throws -> [String: Double] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            samples = {}
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in family.samples:
                    key = s.name + "{" + ",".join(k + "=" + v for k, v in sorted(s.labels.items())) + "}"
                    samples[key] = s.value
            print(json.dumps(samples))
            """
        let result = try runProcess("/usr/bin/python3", ["-c", script, path])
        guard result.status == 0 else { throw ParseFailure(text: result.stderr) }
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Double] ?? [:]
    }

    struct ParseFailure: Error { let text: String }

    @Test func ingestWritesItsRunTheQueueAndTheLastSuccessAndAFailureKeepsTheLastSuccess() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, set) = try await startMock(count: 40, seed: 4, token: Self.token)
        let url = console.baseURL
        let db = directory.path("m.sqlite"), metrics = directory.path("s1ingest.prom")
        let ids = try writeIDFile(set, in: directory)
        let ok = try await runBinary(["ingest", "--db", db, "--console", url, "--ids", ids, "--metrics-file", metrics],
                                     environment: ["S1_API_TOKEN": Self.token])
        #expect(ok.status == 0, "\(ok.stderr)")
        let first = try Self.parse(metrics)
        let labels = "command=ingest,console=\(url)"
        #expect(first["s1ingest_last_run_status{\(labels),status=ok}"] == 1)
        #expect(first["s1ingest_last_run_status{\(labels),status=failed}"] == 0)
        #expect(first["s1ingest_last_run_items{\(labels),outcome=stored}"] == 40)
        #expect(first["s1ingest_queue_ids{state=done}"] == 40)
        let success = try #require(first["s1ingest_last_success_timestamp_seconds{\(labels)}"])
        #expect(abs(success - Date().timeIntervalSince1970) < 120)
        #expect((first["s1ingest_last_run_duration_seconds{\(labels)}"] ?? -1) >= 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).allSatisfy { !$0.contains(".tmp-") })

        // The console goes away: the run fails, and the last success stays what it was.
        try await console.shutdown()
        let failed = try await runBinary(["ingest", "--db", db, "--console", url, "--ids", ids, "--metrics-file", metrics],
                                         environment: ["S1_API_TOKEN": Self.token])
        #expect(failed.status == 2)
        let second = try Self.parse(metrics)
        #expect(second["s1ingest_last_run_status{\(labels),status=failed}"] == 1)
        #expect(second["s1ingest_last_run_status{\(labels),status=ok}"] == 0)
        #expect(second["s1ingest_last_success_timestamp_seconds{\(labels)}"].map { abs($0 - success) <= 1 } == true)
    }

    @Test func syncWritesTheWatermarkAgeAndImportItsCounts() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (console, _) = try await startMock(count: 25, seed: 4, token: Self.token)
        defer { Task { try? await console.shutdown() } }
        let db = directory.path("s.sqlite"), metrics = directory.path("sync.prom")
        let sync = try await runBinary(["sync", "--db", db, "--console", console.baseURL, "--since", "2020-01-01T00:00:00Z",
                                        "--metrics-file", metrics], environment: ["S1_API_TOKEN": Self.token])
        #expect(sync.status == 0, "\(sync.stderr)")
        let samples = try Self.parse(metrics)
        #expect(samples["s1ingest_last_run_items{command=sync,console=\(console.baseURL),outcome=stored}"] == 25)
        #expect(samples.keys.contains { $0.hasPrefix("s1ingest_watermark_age_seconds{sync=\(console.baseURL)") }, "\(samples.keys.sorted())")

        let input = directory.path("a.ndjson")
        #expect(try await runBinary(["generate", "--count", "7", "-o", input]).status == 0)
        let importMetrics = directory.path("import.prom")
        let imported = try await runBinary(["import", "--db", directory.path("i.sqlite"), input, "--metrics-file", importMetrics])
        #expect(imported.status == 0, "\(imported.stderr)")
        let importSamples = try Self.parse(importMetrics)
        #expect(importSamples["s1ingest_last_run_items{command=import,console=,outcome=stored}"] == 7)
        #expect(importSamples["s1ingest_last_run_status{command=import,console=,status=ok}"] == 1)
    }
}
