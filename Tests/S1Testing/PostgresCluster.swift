import Foundation
import S1IngestCore
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster made with the system's `initdb` and `pg_ctl`: a temporary
/// directory owned by the `postgres` user (initdb refuses root), a socket directory inside it,
/// a free loopback port, password authentication (SCRAM) over TCP. One per test process
/// (`shared`); each test makes its own database. Stopped and removed when the process exits.
package final class PostgresCluster: @unchecked Sendable {
    package let directory: String
    package let port: Int
    package let user = "s1test"
    package let password: String
    package let binDirectory: String

    /// Why the cluster could not be started.
    package struct StartError: Error, CustomStringConvertible {
        package let description: String
    }

    /// The cluster of this test process, started on first use.
    package static var shared: PostgresCluster {
        get throws {
            try sharedCluster.get()
        }
    }

    private static let sharedCluster: Result<PostgresCluster, any Error> = {
        do {
            let cluster = try PostgresCluster()
            atexit { PostgresCluster.stopShared() }
            return .success(cluster)
        } catch {
            return .failure(error)
        }
    }()

    private static func stopShared() {
        if case .success(let cluster) = sharedCluster { cluster.stop() }
    }

    /// Where `initdb` and `pg_ctl` are: `pg_config --bindir`, Debian's `/usr/lib/postgresql/N/bin`, else PATH.
    package static func findBinDirectory() -> String? {
        var candidates: [String] = []
        if let output = try? run("/bin/sh", ["-c", "pg_config --bindir 2>/dev/null"]).output {
            candidates.append(output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if let versions = try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin").split(separator: ":").map(String.init)
        return candidates.first { !$0.isEmpty && FileManager.default.isExecutableFile(atPath: $0 + "/initdb")
            && FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }

    /// The server's TLS files when it was started with `ssl = on` (see `init(tls:)`).
    package let tls: TLSFiles?

    /// A server certificate and its key (PEM), and the CA that signed it, for a cluster
    /// started with `ssl = on`.
    package struct TLSFiles: Sendable {
        /// The CA certificate clients trust (`sslrootcert=`).
        package let caCertificate: String
        package let certificate: String
        package let key: String

        package init(caCertificate: String, certificate: String, key: String) {
            self.caCertificate = caCertificate
            self.certificate = certificate
            self.key = key
        }

        /// Makes a CA and a server certificate it signs, naming only `names` (e.g.
        /// `DNS:localhost`: then 127.0.0.1 is a wrong host name for `verify-full`), with
        /// `openssl` (P-256 keys, valid for a century), in `directory`.
        package static func generate(in directory: String, names: [String] = ["DNS:localhost"]) throws -> TLSFiles {
            guard let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            }) else {
                throw StartError(description: "no openssl to make test certificates with (apt-get install openssl)")
            }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let files = TLSFiles(caCertificate: directory + "/ca.pem", certificate: directory + "/server.pem", key: directory + "/server.key")
            let extensions = directory + "/server.ext"
            try Data("""
                subjectAltName=\(names.joined(separator: ","))
                basicConstraints=critical,CA:FALSE
                keyUsage=critical,digitalSignature,keyEncipherment
                extendedKeyUsage=serverAuth

                """.utf8).write(to: URL(fileURLWithPath: extensions))
            let steps: [[String]] = [
                ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", directory + "/ca.key",
                 "-out", files.caCertificate, "-days", "36500", "-subj", "/CN=s1ingest PostgreSQL test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", files.key,
                 "-out", directory + "/server.csr", "-subj", "/CN=localhost"],
                ["x509", "-req", "-in", directory + "/server.csr", "-CA", files.caCertificate, "-CAkey", directory + "/ca.key",
                 "-CAcreateserial", "-out", files.certificate, "-days", "36500", "-extfile", extensions],
            ]
            for step in steps {
                let result = try PostgresCluster.run(openssl, step)
                guard result.status == 0 else { throw StartError(description: "openssl \(step[0]) failed: \(result.output)") }
            }
            return files
        }
    }

    /// A cluster of this test process started with `ssl = on` and a certificate for
    /// `localhost` only (`TLSFiles.generate`), started on first use, stopped at exit.
    package static var sharedTLS: PostgresCluster {
        get throws {
            try sharedTLSCluster.get()
        }
    }

    private static let sharedTLSCluster: Result<PostgresCluster, any Error> = {
        do {
            let files = try TLSFiles.generate(in: FileManager.default.temporaryDirectory
                .appendingPathComponent("s1ingest-pg-certs-\(UUID().uuidString.prefix(8))").path)
            let cluster = try PostgresCluster(tls: files)
            atexit { PostgresCluster.stopSharedTLS() }
            return .success(cluster)
        } catch {
            return .failure(error)
        }
    }()

    private static func stopSharedTLS() {
        if case .success(let cluster) = sharedTLSCluster {
            cluster.stop()
            if let tls = cluster.tls { try? FileManager.default.removeItem(atPath: (tls.caCertificate as NSString).deletingLastPathComponent) }
        }
    }

    /// Starts a cluster; with `tls`, with `ssl = on` and that certificate and key (copied
    /// into the cluster's directory, where the server requires its key to be private).
    package init(tls: TLSFiles? = nil) throws {
        self.tls = tls
        guard let bin = Self.findBinDirectory() else {
            throw StartError(description: "no initdb/pg_ctl found (pg_config --bindir, /usr/lib/postgresql/*/bin, PATH): apt-get install postgresql")
        }
        binDirectory = bin
        Self.stopClustersOfDeadProcesses(bin: bin)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("s1ingest-pg-\(UUID().uuidString.prefix(8))").path
        password = "pw-" + UUID().uuidString.prefix(12)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let passwordFile = directory + "/pwfile"
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: passwordFile))
        let asRoot = geteuid() == 0
        if asRoot {
            guard let entry = getpwnam("postgres") else {
                throw StartError(description: "running as root and there is no postgres user to run initdb as (apt-get install postgresql creates it)")
            }
            chown(directory, entry.pointee.pw_uid, entry.pointee.pw_gid)
            chown(passwordFile, entry.pointee.pw_uid, entry.pointee.pw_gid)
        }
        var sslOptions = ""
        if let tls {
            let certificate = directory + "/server.crt", key = directory + "/server.key"
            try FileManager.default.copyItem(atPath: tls.certificate, toPath: certificate)
            try FileManager.default.copyItem(atPath: tls.key, toPath: key)
            if asRoot, let entry = getpwnam("postgres") {
                chown(certificate, entry.pointee.pw_uid, entry.pointee.pw_gid)
                chown(key, entry.pointee.pw_uid, entry.pointee.pw_gid)
            }
            chmod(key, 0o600)
            sslOptions = " -c ssl=on -c ssl_cert_file=\(certificate) -c ssl_key_file=\(key)"
        }
        chmod(directory, 0o700)
        chmod(passwordFile, 0o600)
        // Which test process owns it: a process that crashed (no atexit) leaves its cluster to the next one to stop.
        try Data(String(getpid()).utf8).write(to: URL(fileURLWithPath: directory + "/owner.pid"))
        let initdb = try Self.run(asRoot, bin + "/initdb", [
            "-D", directory + "/data", "-U", user, "--pwfile=\(passwordFile)", "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        ])
        guard initdb.status == 0 else {
            throw StartError(description: "initdb failed (\(initdb.status)): \(initdb.output)")
        }
        var lastError = ""
        for _ in 0 ..< 5 {
            let port = Self.freePort()
            let start = try Self.run(asRoot, bin + "/pg_ctl", [
                "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60",
                "-o", "-k \(directory) -p \(port) -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100\(sslOptions)",
                "start",
            ])
            if start.status == 0 {
                self.port = port
                return
            }
            lastError = start.output + ((try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "")
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw StartError(description: "pg_ctl start failed: \(lastError)")
    }

    /// Stops and removes the clusters whose test process is gone (it crashed before its atexit).
    private static func stopClustersOfDeadProcesses(bin: String) {
        let temporary = FileManager.default.temporaryDirectory.path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix("s1ingest-pg-") {
            let directory = temporary + "/" + name
            guard let text = try? String(contentsOfFile: directory + "/owner.pid", encoding: .utf8), let pid = Int32(text),
                  kill(pid, 0) != 0 && errno == ESRCH else { continue }
            _ = try? run(geteuid() == 0, bin + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Stops the server at once and removes its files.
    package func stop() {
        _ = try? Self.run(geteuid() == 0, binDirectory + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The URL of database `name` on this cluster (the password is not in it: pass `environment`).
    package func url(_ database: String, user: String? = nil, sslmode: String = "disable") -> String {
        "postgresql://\(user ?? self.user)@127.0.0.1:\(port)/\(database)?sslmode=\(sslmode)"
    }

    /// A provider for database `name`, with the password given as PGPASSWORD would give it.
    package func provider(_ database: String, password: String? = nil, user: String? = nil) -> PostgresStoreProvider {
        var provider = PostgresStoreProvider(url: url(database, user: user), warn: { _ in })
        provider.environment = ["PGPASSWORD": password ?? self.password, "HOME": "/nonexistent"]
        return provider
    }

    /// Queues `ids` in `provider`'s database for the console at `url` (named as `ingest` would
    /// name it), as `s1ingest enqueue --console URL` does: the set-up of a queue for workers.
    package static func enqueue(_ ids: [String], for url: String, into provider: PostgresStoreProvider) throws {
        let store = try provider.openForWriting()
        let console = try store.registerConsole(name: nil, url: url)
        try store.enqueue(ids, console: console.name, runId: nil)
    }

    /// Creates an empty database with a unique name and returns the name.
    package func createDatabase(_ prefix: String = "t") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        try psql("postgres", "CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL with psql over the socket (trust), as the cluster's superuser; returns its output.
    @discardableResult
    package func psql(_ database: String, _ sql: String) throws -> String {
        let psqlPath = FileManager.default.isExecutableFile(atPath: binDirectory + "/psql") ? binDirectory + "/psql" : "/usr/bin/psql"
        let result = try Self.run(false, psqlPath, ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", directory, "-p", String(port),
                                                    "-U", user, "-d", database, "-c", sql])
        guard result.status == 0 else { throw StartError(description: "psql failed: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The environment a child process (the s1ingest binary) needs to log in.
    package var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = password
        return environment
    }

    // MARK: Processes

    @discardableResult
    package static func run(_ asPostgres: Bool, _ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        if asPostgres {
            return try run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
        }
        return try run(executable, arguments)
    }

    /// Runs a program to its end (posix_spawn and waitpid); its output goes through a file, not
    /// a pipe, since the server that `pg_ctl start` leaves running would hold a pipe open.
    package static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("s1ingest-pg-run-\(UUID().uuidString)").path
        defer { unlink(outputPath) }
        let child = try ChildProcess(executable, arguments, stdout: .file(outputPath), stderr: .standardOutput)
        child.waitUntilExit()
        return (child.shellStatus, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    /// A loopback port nothing listens on now.
    package static func freePort() -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
