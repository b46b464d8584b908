import Foundation
import Testing
import S1IngestCore
import S1Testing

#if canImport(Glibc)
import Glibc
#endif

/// `s1ingest copy` as a process: a copy killed mid-way (SIGKILL) or stopped (SIGINT, exit
/// 130) and run again ends equal to one uninterrupted copy, in PostgreSQL.
@Suite(.serialized, .cpuExclusive) struct CopyCommandTests {
    @Test func aKilledOrInterruptedCopyRunAgainEqualsAnUninterruptedOne() async throws {
        let cluster = try PostgresCluster.shared
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let path = directory.path("source.sqlite")
        let analyses = 4000
        try await CopyTestData.makeSource(path, analyses: analyses, otherConsole: 0, directory: directory)
        let whole = try cluster.createDatabase("copywhole")
        let cut = try cluster.createDatabase("copycut")
        let environment = ["PGPASSWORD": cluster.password, "HOME": "/nonexistent"]

        let uninterrupted = try await runBinary(["copy", "--from", path, "--to", cluster.url(whole), "--json"], environment: environment)
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        #expect(uninterrupted.stdout.contains("\"status\":\"ok\""))
        #expect(!uninterrupted.stdout.contains(cluster.password) && !uninterrupted.stderr.contains(cluster.password))

        // Killed after its first batches are committed, before the end.
        let threats = { @Sendable in Int((try? cluster.psql(cut, "SELECT count(*) FROM threats")) ?? "") ?? 0 }
        let killed = try BackgroundRun.start(["copy", "--from", path, "--to", cluster.url(cut), "--batch-size", "200"],
                                             environment: environment, directory: directory, name: "killed")
        #expect(await signal(SIGKILL, to: killed, within: 120) { threats() >= 200 })
        _ = await killed.wait(seconds: 20)
        let afterKill = threats()
        #expect(afterKill >= 200 && afterKill < analyses, "killed with \(afterKill) threats copied")

        // Interrupted (Ctrl-C): exit 130 with what was copied.
        let interrupted = try BackgroundRun.start(["copy", "--from", path, "--to", cluster.url(cut), "--batch-size", "200"],
                                                  environment: environment, directory: directory, name: "interrupted")
        let reached = afterKill + 400
        #expect(await signal(SIGINT, to: interrupted, within: 120) { threats() >= reached })
        #expect(await interrupted.wait(seconds: 60) == 130, "\(interrupted.stderr)")
        #expect(interrupted.stdout.contains("stopped"))

        let finished = try await runBinary(["copy", "--from", path, "--to", cluster.url(cut)], environment: environment)
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(CopyTestData.differences(try CopyTestData.snapshot(cluster.provider(whole)), try CopyTestData.snapshot(cluster.provider(cut))) == [])

        let again = try await runBinary(["copy", "--from", path, "--to", cluster.url(cut)], environment: environment)
        #expect(again.status == 0)
        #expect(again.stdout.contains("unchanged (the destination already held everything)"))
    }

    @Test func aMissingSourceIsExit2WithItsPath() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let missing = directory.path("no-such.sqlite")
        let result = try await runBinary(["copy", "--from", missing, "--to", directory.path("to.sqlite")])
        #expect(result.status == 2)
        #expect(result.stderr.contains(missing))
        #expect(!FileManager.default.fileExists(atPath: directory.path("to.sqlite")))

        let foreign = try directory.file("notes.sqlite", "not a database at all, just text")
        let refused = try await runBinary(["copy", "--from", foreign, "--to", directory.path("to.sqlite")])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains(foreign))
    }
}
