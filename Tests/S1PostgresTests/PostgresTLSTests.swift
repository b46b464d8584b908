import Foundation
import Testing
import S1IngestCore
import S1Testing

/// TLS to a real server (issue 15): a cluster with `ssl = on` and a certificate for
/// `localhost` only, signed by a CA made for the test; every `sslmode` against it, and
/// `require` against a server without TLS.
@Suite(.serialized) struct PostgresTLSTests {
    /// A provider for `url`, the password given as PGPASSWORD would give it.
    private func provider(_ cluster: PostgresCluster, _ url: String, environment: [String: String] = [:]) throws -> PostgresStoreProvider {
        var provider = PostgresStoreProvider(location: try PostgresLocation(url: url, environment: environment), warn: { _ in })
        provider.environment = ["PGPASSWORD": cluster.password, "HOME": "/nonexistent"]
        return provider
    }

    private func url(_ cluster: PostgresCluster, _ database: String, host: String = "localhost", _ parameters: String) -> String {
        "postgresql://\(cluster.user)@\(host):\(cluster.port)/\(database)?\(parameters)"
    }

    /// Whether the reader's connection is encrypted (`pg_stat_ssl`).
    private func encrypted(_ provider: PostgresStoreProvider) throws -> Bool {
        let rows = try provider.openReader().query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").allRows()
        return rows == [[.integer(1)]]
    }

    /// The error `body` throws, as a `PostgresStoreError`.
    private func failure(_ body: () throws -> Void) -> PostgresStoreError? {
        do {
            try body()
            return nil
        } catch let error as PostgresStoreError {
            return error
        } catch {
            Issue.record("not a PostgresStoreError: \(error)")
            return nil
        }
    }

    @Test func sslSettingsComeFromTheURLElseTheEnvironmentAsLibpqReadsThem() throws {
        let environment = ["PGSSLMODE": "verify-ca", "PGSSLROOTCERT": "/etc/s1/ca.pem"]
        let fromEnvironment = try PostgresLocation(url: "postgresql://u@h/d", environment: environment)
        #expect(fromEnvironment.sslMode == .verifyCA && fromEnvironment.sslRootCert == "/etc/s1/ca.pem")
        let fromURL = try PostgresLocation(url: "postgresql://u@h/d?sslmode=require&sslrootcert=/x.pem", environment: environment)
        #expect(fromURL.sslMode == .require && fromURL.sslRootCert == "/x.pem")
        // `system` (libpq 16's spelling): the system's CAs.
        let system = try PostgresLocation(url: "postgresql://u@h/d?sslmode=verify-full&sslrootcert=system", environment: environment)
        #expect(system.sslMode == .verifyFull && system.sslRootCert == nil)
        #expect(try PostgresLocation(url: "postgresql://u@h/d", environment: [:]).sslMode == .prefer)
        #expect(throws: PostgresStoreError.self) { try PostgresLocation(url: "postgresql://u@h/d", environment: ["PGSSLMODE": "sometimes"]) }
    }

    @Test func verifyFullWithTheRightCAConnectsAndMigrates() throws {
        let cluster = try PostgresCluster.sharedTLS
        let tls = try #require(cluster.tls)
        let database = try cluster.createDatabase("tls")
        let full = try provider(cluster, url(cluster, database, "sslmode=verify-full&sslrootcert=\(tls.caCertificate)"))
        let report = try full.migrate()
        #expect(report.toVersion > 0)
        #expect(try encrypted(full))
        // verify-ca checks the CA, not the name: 127.0.0.1 (not in the certificate) is fine.
        #expect(try encrypted(provider(cluster, url(cluster, database, host: "127.0.0.1", "sslmode=verify-ca&sslrootcert=\(tls.caCertificate)"))))
        // PGSSLROOTCERT and PGSSLMODE, as libpq reads them, when the URL does not say.
        let fromEnvironment = try provider(cluster, "postgresql://\(cluster.user)@localhost:\(cluster.port)/\(database)",
                                           environment: ["PGSSLMODE": "verify-full", "PGSSLROOTCERT": tls.caCertificate])
        #expect(try encrypted(fromEnvironment))
        // require and prefer encrypt without checking; disable does not encrypt.
        #expect(try encrypted(provider(cluster, url(cluster, database, host: "127.0.0.1", "sslmode=require"))))
        #expect(try encrypted(provider(cluster, url(cluster, database, host: "127.0.0.1", "sslmode=prefer"))))
        #expect(try !encrypted(provider(cluster, url(cluster, database, host: "127.0.0.1", "sslmode=disable"))))
    }

    @Test func aWrongCAOrAWrongHostNameIsRefused() throws {
        let cluster = try PostgresCluster.sharedTLS
        let tls = try #require(cluster.tls)
        let database = try cluster.createDatabase("tls")
        let otherCA = Fixture.tlsPath("other-ca.pem")
        let cases: [(url: String, expected: String)] = [
            // A CA that did not sign the server's certificate.
            (url(cluster, database, "sslmode=verify-full&sslrootcert=\(otherCA)"), "certificate"),
            (url(cluster, database, host: "127.0.0.1", "sslmode=verify-ca&sslrootcert=\(otherCA)"), "certificate"),
            // The right CA, but the certificate names localhost, not 127.0.0.1.
            (url(cluster, database, host: "127.0.0.1", "sslmode=verify-full&sslrootcert=\(tls.caCertificate)"), "127.0.0.1"),
            // No sslrootcert: the system's CAs, which do not know the test CA.
            (url(cluster, database, "sslmode=verify-full"), "certificate"),
            // A CA file that is not there.
            (url(cluster, database, "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"), "sslrootcert=/nonexistent/ca.pem does not exist"),
        ]
        for (url, expected) in cases {
            let error = failure { _ = try provider(cluster, url).migrate() }
            guard case .tls(let location, let detail)? = error else {
                Issue.record("\(url): expected a TLS error, got \(String(describing: error))")
                continue
            }
            #expect(location.contains("sslmode=verify-"))
            #expect(detail.contains(expected), "\(url): \(detail)")
            let message = "\(error!)"
            #expect(message.hasPrefix("cannot set up TLS with the PostgreSQL server of postgresql://"), "\(message)")
            #expect(!message.contains(cluster.password))
        }
        // Nothing was created through the refused connections.
        #expect(try cluster.psql(database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0")
    }

    /// As libpq: without `sslrootcert`, `~/.postgresql/root.crt` is the CA file when it exists;
    /// and `require` with a CA file checks the certificate as `verify-ca` does.
    @Test func theHomeRootCertificateIsTheDefaultCAAndMakesRequireVerify() throws {
        let cluster = try PostgresCluster.sharedTLS
        let tls = try #require(cluster.tls)
        let database = try cluster.createDatabase("tls")
        let right = try TemporaryDirectory(), wrong = try TemporaryDirectory(), none = try TemporaryDirectory()
        defer { [right, wrong, none].forEach { $0.cleanUp() } }
        for (home, ca) in [(right, tls.caCertificate), (wrong, Fixture.tlsPath("other-ca.pem"))] {
            try FileManager.default.createDirectory(atPath: home.path(".postgresql"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: ca, toPath: home.path(".postgresql/root.crt"))
        }
        let base = "postgresql://\(cluster.user)@localhost:\(cluster.port)/\(database)"
        let location = try PostgresLocation(url: base + "?sslmode=require", environment: ["HOME": right.url.path])
        #expect(location.homeRootCert == right.path(".postgresql/root.crt") && location.verification == .verifyCA)
        #expect(try PostgresLocation(url: base + "?sslmode=require", environment: ["HOME": none.url.path]).verification == .require)
        #expect(try PostgresLocation(url: base + "?sslmode=require&sslrootcert=/x.pem", environment: [:]).verification == .verifyCA)
        #expect(try PostgresLocation(url: base + "?sslmode=verify-full&sslrootcert=system", environment: ["HOME": right.url.path]).trustedRootCert == nil)

        // verify-full with no sslrootcert trusts ~/.postgresql/root.crt (the system's CAs would not).
        let trusted = try provider(cluster, base + "?sslmode=verify-full", environment: ["HOME": right.url.path])
        _ = try trusted.migrate()
        #expect(try encrypted(trusted))
        // require checks the certificate against it: a root.crt of another CA refuses the server.
        let error = failure { _ = try provider(cluster, base + "?sslmode=require", environment: ["HOME": wrong.url.path]).migrate() }
        guard case .tls(_, let detail)? = error else {
            Issue.record("expected a TLS error, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("not signed by a trusted CA") && detail.contains(wrong.path(".postgresql/root.crt")), "\(detail)")
        // Without one, require encrypts without checking, as before.
        #expect(try encrypted(provider(cluster, base + "?sslmode=require", environment: ["HOME": none.url.path])))
    }

    @Test func requireAgainstAServerWithoutTLSFailsClearly() throws {
        let cluster = try PostgresCluster.shared
        let database = try cluster.createDatabase("tls")
        for mode in ["require", "verify-ca", "verify-full"] {
            let error = failure { _ = try provider(cluster, url(cluster, database, host: "127.0.0.1", "sslmode=\(mode)&sslrootcert=\(Fixture.tlsPath("test-ca.pem"))")).migrate() }
            guard case .tls(_, let detail)? = error else {
                Issue.record("\(mode): expected a TLS error, got \(String(describing: error))")
                continue
            }
            #expect(detail.contains("the server does not support TLS"), "\(detail)")
        }
        // prefer and disable connect in plain text.
        for mode in ["prefer", "disable"] {
            let plain = try provider(cluster, url(cluster, database, host: "127.0.0.1", "sslmode=\(mode)"))
            _ = try plain.migrate()
            #expect(try !encrypted(plain))
        }
    }
}
