import Foundation
import S1IngestCore
import S1Testing
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A large export streams: the real `s1ingest export` exporting 300,000 rows peaks at about the
/// same resident memory as exporting 30,000. Measured in a child process (its VmHWM), so tests
/// running in parallel in this process cannot disturb the figure.
@Suite struct ExportMemoryTests {
    @Test func exportingThreeHundredThousandRowsKeepsMemoryFlat() throws {
        let binary = try #require(S1IngestBinary.path, "the s1ingest executable is built beside the tests")
        let path = TestDatabases.temporaryPath()
        defer { TestDatabases.remove(path) }
        do {
            let database = try Database(path: path)
            try database.execute("""
                CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT, payload TEXT, amount REAL, note TEXT);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
                INSERT INTO big SELECT i, 'row "' || i || '", with comma', hex(randomblob(120)), i * 0.25,
                                       CASE WHEN i % 7 = 0 THEN NULL ELSE '=formula' || i END FROM n;
                """)
        }
        let output = TestDatabases.temporaryPath("csv")
        defer { try? FileManager.default.removeItem(atPath: output) }

        let small = try S1IngestBinary.runMeasuringPeak(binary, ["export", "--db", path, "--query", "SELECT * FROM big LIMIT 30000", "--output", output])
        let smallSize = try #require(try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int)
        let large = try S1IngestBinary.runMeasuringPeak(binary, ["export", "--db", path, "--table", "big", "--output", output])
        let largeSize = try #require(try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int)
        #expect(small.status == 0 && large.status == 0)
        #expect(largeSize > 80_000_000 && smallSize < largeSize / 9)
        // Holding the rows or the output would add ~80 MB between the two runs.
        #expect(large.peakKiB - small.peakKiB < 8 * 1024, "peak RSS \(small.peakKiB) KiB for 30k rows, \(large.peakKiB) KiB for 300k rows")
        #expect(large.peakKiB > 0 && large.peakKiB * 1024 < largeSize / 2)
    }
}

/// The `s1ingest` executable SwiftPM builds beside the test bundle.
enum S1IngestBinary {
    static let path: String? = {
        var directories = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent(),
                           Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        directories += directories.map { $0.deletingLastPathComponent() }
        return directories.map { $0.appendingPathComponent("s1ingest").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Runs the binary to completion; its exit status and peak resident set size, read from
    /// /proc/PID/status (VmHWM) every 2 ms while it runs. (wait4's ru_maxrss would count this
    /// test process's memory too: posix_spawn shares it until exec.)
    static func runMeasuringPeak(_ binary: String, _ arguments: [String]) throws -> (status: Int32, peakKiB: Int) {
        let child = try ChildProcess(binary, arguments, stdin: .inherit, stdout: .nullDevice, stderr: .inherit)
        let pid = child.processIdentifier
        var peak = 0
        while true {
            if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kib = Int(line.split(separator: " ").dropFirst().first ?? "") {
                peak = max(peak, kib)
            }
            if !child.isRunning { break }
            usleep(2000)
        }
        return (child.shellStatus, peak)
    }
}
