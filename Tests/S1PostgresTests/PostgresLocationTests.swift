import Foundation
import Testing
import S1IngestCore
import S1Testing

/// `--db postgresql://...`: the URL, the password's sources, and the backend it picks.
@Suite struct PostgresLocationTests {
    @Test func urlPartsAndDefaults() throws {
        let location = try PostgresLocation(url: "postgresql://ingest@db.example.net:6543/threats?sslmode=verify-full", environment: [:])
        #expect(location.user == "ingest")
        #expect(location.host == "db.example.net")
        #expect(location.port == 6543)
        #expect(location.database == "threats")
        #expect(location.sslMode == .verifyFull)
        #expect(location.shown == "postgresql://ingest@db.example.net:6543/threats?sslmode=verify-full")

        let short = try PostgresLocation(url: "postgres://u@h/", environment: [:])
        #expect(short.port == 5432)
        #expect(short.database == "u")
        #expect(short.sslMode == .prefer)
        let socket = try PostgresLocation(url: "postgresql://u@/d?host=/run/postgresql", environment: [:])
        #expect(socket.isUnixSocket && socket.unixSocketPath == "/run/postgresql/.s.PGSQL.5432")
    }

    @Test func badURLsAreRefusedWithAReason() {
        #expect(throws: PostgresStoreError.self) { try PostgresLocation(url: "postgresql://u@h:99999/d", environment: [:]) }
        #expect(throws: PostgresStoreError.self) { try PostgresLocation(url: "postgresql://u@h/d?sslmode=sometimes", environment: [:]) }
        #expect(throws: PostgresStoreError.self) { try PostgresLocation(url: "postgresql://u@h/d?frobnicate=1", environment: [:]) }
    }

    @Test func aPasswordInTheURLIsRefusedAndNeverRepeated() {
        for url in ["postgresql://ingest:hunter2secret@db:5432/threats", "postgresql://ingest@db/threats?password=hunter2secret"] {
            do {
                _ = try PostgresLocation(url: url, environment: [:])
                Issue.record("accepted \(url)")
            } catch {
                let message = "\(error)"
                #expect(message.contains("password in the URL is refused"))
                #expect(!message.contains("hunter2secret"), "the message repeats the password: \(message)")
            }
        }
        let provider = StoreBackends.provider(for: "postgresql://ingest:hunter2secret@db:5432/threats")
        #expect(!provider.location.contains("hunter2secret"))
        #expect(throws: PostgresStoreError.self) { try provider.migrate() }
    }

    @Test func backendsPickPostgresByScheme() {
        #expect(StoreBackends.provider(for: "postgresql://u@h/d") is PostgresStoreProvider)
        #expect(StoreBackends.provider(for: "POSTGRES://u@h/d") is PostgresStoreProvider)
        #expect(StoreBackends.provider(for: "threats.sqlite") is SQLiteStoreProvider)
        #expect(StoreBackends.provider(for: "postgresql.sqlite") is SQLiteStoreProvider)
    }

    @Test func passwordFileLinesMatchWithWildcardsAndEscapes() {
        let text = """
            # comment
            other:5432:threats:ingest:wrong
            db\\:1:*:threats:ingest:esc\\:aped
            *:5432:*:ingest:any-host
            db:5432:threats:ingest:too-late
            """
        #expect(PostgresPassword.passwordFileMatch(text, host: "db", port: 5432, database: "threats", user: "ingest") == "any-host")
        #expect(PostgresPassword.passwordFileMatch(text, host: "db:1", port: 7, database: "threats", user: "ingest") == "esc:aped")
        #expect(PostgresPassword.passwordFileMatch(text, host: "db", port: 5432, database: "threats", user: "nobody") == nil)
    }

    @Test func passwordComesFromPGPASSWORDThenAPrivateFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let file = try directory.file("pgpass", "127.0.0.1:5432:threats:ingest:from-file\n")
        let location = try PostgresLocation(url: "postgresql://ingest@127.0.0.1/threats", environment: [:])
        chmod(file, 0o600)
        #expect(PostgresPassword.lookup(for: location, environment: ["PGPASSWORD": "from-env", "PGPASSFILE": file], warn: { _ in }) == "from-env")
        #expect(PostgresPassword.lookup(for: location, environment: ["PGPASSFILE": file], warn: { _ in }) == "from-file")
        // ~/.pgpass when PGPASSFILE is not set.
        let home = directory.path("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: file, toPath: home + "/.pgpass")
        chmod(home + "/.pgpass", 0o600)
        #expect(PostgresPassword.lookup(for: location, environment: ["HOME": home], warn: { _ in }) == "from-file")

        // Readable by others: ignored, with a warning, as libpq does.
        chmod(file, 0o644)
        let warnings = WarningLog()
        #expect(PostgresPassword.lookup(for: location, environment: ["PGPASSFILE": file], warn: { warnings.add($0) }) == nil)
        #expect(warnings.messages.count == 1 && warnings.messages[0].contains("group or world access"))
        #expect(!warnings.messages[0].contains("from-file"))
    }
}

final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ message: String) { lock.withLock { list.append(message) } }
    var messages: [String] { lock.withLock { list } }
}
