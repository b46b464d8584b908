import Foundation
import Testing
import S1IngestCore
import S1Testing

/// `--db postgresql://...?sslmode=...` through the real binary (issue 15): a server whose
/// certificate cannot be trusted, or that has no TLS, is exit 2 with a message saying what to fix.
@Suite(.serialized) struct PostgresTLSCommandTests {
    @Test func verifyFullConnectsAndARefusedServerIsExitTwo() async throws {
        let cluster = try PostgresCluster.sharedTLS
        let tls = try #require(cluster.tls)
        let database = try cluster.createDatabase("clitls")
        func url(_ host: String, _ parameters: String) -> String {
            "postgresql://\(cluster.user)@\(host):\(cluster.port)/\(database)?\(parameters)"
        }
        let good = url("localhost", "sslmode=verify-full&sslrootcert=\(tls.caCertificate)")
        let migrate = try await runBinary(["migrate", "--db", good], environment: cluster.environment)
        #expect(migrate.status == 0, "\(migrate.stderr)")
        let imported = try await runBinary(["import", "--db", good, Fixture.path(Fixture.sample2025)], environment: cluster.environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let report = try await runBinary(["report", "top-classifications", "--db", good], environment: cluster.environment)
        #expect(report.status == 0 && report.stdout.contains("Top classifications"), "\(report.stderr)")

        let refused: [(url: String, message: String)] = [
            (url("127.0.0.1", "sslmode=verify-full&sslrootcert=\(tls.caCertificate)"), "the server's certificate does not name the host 127.0.0.1"),
            (url("localhost", "sslmode=verify-full&sslrootcert=\(Fixture.tlsPath("other-ca.pem"))"), "the server's certificate is not signed by a trusted CA"),
        ]
        for (url, message) in refused {
            for command in [["migrate"], ["report"]] {
                let result = try await runBinary(command + ["--db", url], environment: cluster.environment)
                #expect(result.status == 2, "\(command) \(url): \(result.stderr)")
                #expect(result.stderr.contains("cannot set up TLS with the PostgreSQL server of"), "\(result.stderr)")
                #expect(result.stderr.contains(message), "\(result.stderr)")
                #expect(!result.stderr.contains(cluster.password))
            }
        }

        // require against a server without TLS.
        let plain = try PostgresCluster.shared
        let plainDatabase = try plain.createDatabase("clitls")
        let result = try await runBinary(["migrate", "--db", plain.url(plainDatabase, sslmode: "require")], environment: plain.environment)
        #expect(result.status == 2)
        #expect(result.stderr.contains("the server does not support TLS"), "\(result.stderr)")
        let disabled = try await runBinary(["migrate", "--db", plain.url(plainDatabase, sslmode: "disable")], environment: plain.environment)
        #expect(disabled.status == 0, "\(disabled.stderr)")
    }
}
