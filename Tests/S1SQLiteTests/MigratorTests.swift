import Foundation
import S1JSON
import Testing
@testable import S1IngestCore
import S1Testing

@Suite struct MigratorTests {
    @Test func migratesAnEmptyDatabaseThenIsANoOp() throws {
        let scratch = try TemporaryDirectory()
        let database = try Database(path: scratch.path("m.sqlite"))
        let first = try Migrator.migrate(database)
        #expect(first.fromVersion == 0)
        #expect(first.toVersion == Migrator.latestVersion)
        #expect(first.applied.count == Migrator.migrations.count)
        #expect(try database.scalar("SELECT count(*) FROM schema_migrations") == .integer(Int64(Migrator.migrations.count)))
        let second = try Migrator.migrate(database)
        #expect(second.applied.isEmpty)
        #expect(second.toVersion == Migrator.latestVersion)
        #expect(try database.scalar("PRAGMA application_id") == .integer(Int64(Migrator.applicationId)))
    }

    /// New files get large pages; a file made with 4 KiB pages (the default of SQLite and
    /// of s1ingest before 64 KiB) keeps them and still imports: the page size cannot change
    /// once a database is in WAL mode.
    @Test func newDatabasesGetLargePagesAndOldOnesKeepTheirs() async throws {
        let scratch = try TemporaryDirectory()
        let fresh = try StoreOpener.openForWriting(path: scratch.path("fresh.sqlite"))
        #expect(try fresh.scalar("PRAGMA page_size") == .integer(Int64(Database.newDatabasePageSize)))
        let oldPath = scratch.path("old.sqlite")
        do {
            let old = try Database(path: oldPath)
            try old.execute("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA user_version=0")
        }
        let summary = try await Importer(options: ImportOptions(databasePath: oldPath, inputs: [Fixture.path(Fixture.capture2022)])).run()
        #expect(summary.stored == 1)
        let reopened = try StoreOpener.openForReading(path: oldPath)
        #expect(try reopened.scalar("PRAGMA page_size") == .integer(4096))
        #expect(try reopened.userVersion == Migrator.latestVersion)
        #expect(try reopened.scalar("SELECT count(*) FROM interfaces") == .integer(7))
    }

    @Test func refusesANewerDatabase() throws {
        let scratch = try TemporaryDirectory()
        let database = try Database(path: scratch.path("n.sqlite"))
        try Migrator.migrate(database)
        try database.execute("PRAGMA user_version = \(Migrator.latestVersion + 1)")
        #expect { try Migrator.migrate(database) } throws: { "\($0)".contains("newer than this s1ingest supports") }
        #expect { _ = try StoreOpener.openForReading(path: database.path) } throws: { "\($0)".contains("upgrade s1ingest") }
    }

    @Test func refusesADatabaseItDidNotCreate() throws {
        let scratch = try TemporaryDirectory()
        let database = try Database(path: scratch.path("other.sqlite"))
        try database.execute("CREATE TABLE customers (id INTEGER)")
        #expect { try Migrator.migrate(database) } throws: { "\($0)".contains("did not create") }
        #expect(try database.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'threats'") == .integer(0))
    }

    @Test func migrationsAreNumberedInOrderWithoutGaps() {
        #expect(Migrator.migrations.map(\.version) == Array(1...Migrator.migrations.count))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Repository.root.appendingPathComponent("migrations").path)) ?? []
        #expect(Migrator.migrations.map(\.name) == names.filter { $0.hasSuffix(".sql") }.sorted(),
                "the binary must carry exactly the files in migrations/")
    }

    @Test func embeddedMigrationsAreTheFilesInMigrations() throws {
        for migration in Migrator.migrations {
            #expect(try Repository.text("migrations/\(migration.name)") == migration.sql, "\(migration.name)")
        }
    }
}

/// `schemas/` must say what the code does: a failing test here means a file fell out of step.
@Suite struct SchemaDriftTests {
    @Test func databaseSQLIsWhatTheMigrationsProduce() throws {
        let committed = try Repository.text("schemas/database.sql")
        let fresh = try SchemaDump.freshDatabaseSQL()
        #expect(committed == fresh, "schemas/database.sql is stale: run `swift run s1ingest schema > schemas/database.sql`")
    }

    @Test func flattenerColumnsMatchTheTables() throws {
        let database = try Database(path: ":memory:")
        try Migrator.migrate(database)
        for table in Table.allCases {
            let columns = try database.query("SELECT name FROM pragma_table_info(?) ORDER BY cid", [.text(table.name)])
                .compactMap { $0.first?.textValue }
            // `console` is the store's, not the flattener's: the writer binds it.
            #expect(Set(table.columns + (table.hasConsole ? ["console"] : [])) == Set(columns), "\(table.name): code and migrations disagree")
        }
    }

    @Test func inputContractListsExactlyTheMappedKeys() throws {
        let schema = try JSONDocument(text: try Repository.text("schemas/threat-analysis.schema.json"))
        let data = try #require(schema.root["properties"]?["data"]?["properties"])
        func keys(_ object: JSONValue?) -> Set<String> { Set((object?["properties"]?.members ?? []).map(\.name)) }
        for (section, fields) in FieldMappings.threatSections {
            var expected = Set(fields.map(\.key))
            if section == "threatInfo" { expected.formUnion(["threatId", "detectionEngines", "engines"]) }
            #expect(keys(data[section]) == expected, "\(section) in threat-analysis.schema.json")
        }
        #expect(keys(data["agentRealtimeInfo"]) == Set(FieldMappings.agentRealtimeInfo.map(\.key) + ["agentId", "networkInterfaces"]))
        let mitigation = data["mitigationStatus"]?["items"]
        #expect(keys(mitigation) == Set(FieldMappings.mitigation.map(\.key) + ["actionsCounters"]))
        #expect(keys(mitigation?["properties"]?["actionsCounters"]) == Set(FieldMappings.actionsCounters.map(\.key)))
        let modelled: Set<String> = ["threatInfo", "agentDetectionInfo", "agentRealtimeInfo", "containerInfo", "kubernetesInfo",
                                      "ecsInfo", "mitigationStatus", "indicators", "whiteningOptions", "customDetectionRules"]
        #expect(Set(data.members.map(\.name)) == modelled)
    }

    @Test func fixturesSatisfyTheInputContract() throws {
        let schema = try JSONDocument(text: try Repository.text("schemas/threat-analysis.schema.json")).root
        for fixture in [Fixture.capture2022, Fixture.sample2025] {
            let document = try JSONDocument(bytes: Array(try Fixture.data(fixture)))
            #expect(SchemaCheck.violations(of: document.root, against: schema).isEmpty, "\(fixture)")
        }
        let broken = try JSONDocument(text: #"{"data": {"threatInfo": {"threatId": "1", "fileSize": {}}}}"#)
        #expect(SchemaCheck.violations(of: broken.root, against: schema) == ["$.data.threatInfo.fileSize: object is not one of integer, string, boolean, null"])
    }
}

/// The part of JSON Schema the input contract uses: type, properties, required, items.
enum SchemaCheck {
    static func violations(of value: JSONValue, against schema: JSONValue, path: String = "$") -> [String] {
        var found: [String] = []
        if let types = schema["type"] {
            let allowed = types.kind == .array ? types.elements.compactMap(\.string) : [types.string ?? ""]
            if !allowed.contains(where: { matches(value, $0) }) {
                return ["\(path): \(name(value)) is not one of \(allowed.joined(separator: ", "))"]
            }
        }
        if value.kind == .object {
            for required in schema["required"]?.elements.compactMap(\.string) ?? [] where value[required] == nil {
                found.append("\(path): \(required) is required")
            }
            for (key, child) in value.members {
                if let rule = schema["properties"]?[key] { found += violations(of: child, against: rule, path: "\(path).\(key)") }
            }
        }
        if value.kind == .array, let items = schema["items"] {
            for (index, element) in value.elements.enumerated() { found += violations(of: element, against: items, path: "\(path)[\(index)]") }
        }
        return found
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch type {
        case "null": return value.kind == .null
        case "boolean": return value.kind == .true || value.kind == .false
        case "integer": return value.int64 != nil
        case "number": return value.kind == .number
        case "string": return value.kind == .string
        case "array": return value.kind == .array
        case "object": return value.kind == .object
        default: return false
        }
    }

    static func name(_ value: JSONValue) -> String {
        switch value.kind {
        case .null: return "null"
        case .true, .false: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// A database made before the console dimension (schema 5) gets one (migration 0006).
@Suite struct ConsoleMigrationTests {
    /// A schema-5 database holding threats fetched from `urls` (one threat and agent each,
    /// in order) and one imported from a file, a run per URL, a queued ID and a watermark.
    static func oldDatabase(urls: [String], in scratch: TemporaryDirectory) throws -> String {
        let path = scratch.path("old.sqlite")
        let database = try Database(path: path)
        for migration in Migrator.migrations where migration.version <= 5 {
            try database.execute(migration.sql)
            try database.execute("PRAGMA user_version = \(migration.version)")
        }
        func threat(_ id: String, agent: String, source: String) throws {
            try database.prepare("INSERT INTO agents (agent_id, first_ingested_at, last_ingested_at, last_threat_id) VALUES (?1, '2026-01-01T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z', ?2)")
                .run([.text(agent), .text(id)])
            try database.prepare("INSERT INTO threats (threat_id, agent_id, first_ingested_at, last_ingested_at) VALUES (?1, ?2, '2026-01-01T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z')")
                .run([.text(id), .text(agent)])
            try database.prepare("INSERT INTO raw_analyses (threat_id, body, source, ingested_at) VALUES (?1, '{}', ?2, '2026-01-01T00:00:00.000000Z')")
                .run([.text(id), .text(source)])
        }
        for (index, url) in urls.enumerated() {
            try threat("10\(index)", agent: "20\(index)", source: "\(url)/web/api/v2.1/private/threats/10\(index)/analysis:1")
            try database.prepare("INSERT INTO ingest_runs (command, source, console, started_at, status, version) VALUES ('sync', 'threat list', ?1, ?2, 'ok', '0.1.0')")
                .run([.text(url), .text("2026-01-0\(index + 1)T00:00:00.000000Z")])
            try database.prepare("INSERT INTO ingest_queue (threat_id, state, enqueued_at, updated_at, run_id) VALUES (?1, 'pending', 'x', 'x', ?2)")
                .run([.text("30\(index)"), .integer(Int64(index + 1))])
            try database.prepare("INSERT INTO sync_state (console, watermark, updated_at) VALUES (?1, '2026-01-01T00:00:00.000000Z', 'x')")
                .run([.text(url + (index == 0 ? "" : " sites=1,2"))])
        }
        try threat("199", agent: "299", source: "export.json:3")
        return path
    }

    static func column(_ database: Database, _ sql: String) throws -> [String] {
        try database.query(sql).map { $0.map { $0.textValue ?? "NULL" }.joined(separator: " ") }
    }

    @Test func aSingleConsoleDatabaseBecomesConsoleDefaultWithItsURL() throws {
        let scratch = try TemporaryDirectory()
        let path = try Self.oldDatabase(urls: ["https://acme.sentinelone.net"], in: scratch)
        let database = try Database(path: path)
        let report = try Migrator.migrate(database)
        #expect(report.applied.contains("0006_consoles.sql"))
        #expect(try Self.column(database, "SELECT console, url FROM consoles") == ["default https://acme.sentinelone.net"])
        #expect(try Self.column(database, "SELECT DISTINCT console FROM threats") == ["default"])
        #expect(try Self.column(database, "SELECT DISTINCT console FROM agents") == ["default"])
        #expect(try Self.column(database, "SELECT console, console_url FROM ingest_runs") == ["default https://acme.sentinelone.net"])
        #expect(try Self.column(database, "SELECT console FROM ingest_queue") == ["default"])
        #expect(try Self.column(database, "SELECT console, sync_key FROM sync_state") == ["default https://acme.sentinelone.net"])
        // The next run with the same URL and no consoles file keeps using it.
        #expect(try ConsoleNames.register(database, name: nil, url: "https://acme.sentinelone.net") == ConsoleRef(name: "default", url: "https://acme.sentinelone.net"))
        // Moving to a consoles file: the file's name for the same URL takes over every row.
        #expect(try ConsoleNames.register(database, name: "acme", url: "https://acme.sentinelone.net").name == "acme")
        #expect(try Self.column(database, "SELECT DISTINCT console FROM threats") == ["acme"])
        #expect(try Self.column(database, "SELECT console FROM consoles") == ["acme"])
        #expect(try Self.column(database, "SELECT console FROM sync_state") == ["acme"])
        // A second console is named after its host; a name cannot change its URL.
        #expect(try ConsoleNames.register(database, name: nil, url: "https://eu1.sentinelone.net").name == "eu1-sentinelone-net")
        #expect(throws: ConsoleStoreError.nameHasAnotherURL(name: "acme", stored: "https://acme.sentinelone.net", given: "https://other.net")) {
            try ConsoleNames.register(database, name: "acme", url: "https://other.net")
        }
    }

    @Test func aDatabaseOfTwoConsolesNamesEachByItsHost() throws {
        let scratch = try TemporaryDirectory()
        let path = try Self.oldDatabase(urls: ["https://usea1.sentinelone.net", "http://127.0.0.1:8443"], in: scratch)
        let database = try Database(path: path)
        try Migrator.migrate(database)
        #expect(try Self.column(database, "SELECT console, coalesce(url, 'NULL') FROM consoles ORDER BY console")
                == ["127-0-0-1-8443 http://127.0.0.1:8443", "default NULL", "usea1-sentinelone-net https://usea1.sentinelone.net"])
        #expect(try Self.column(database, "SELECT threat_id, console FROM threats ORDER BY threat_id")
                == ["100 usea1-sentinelone-net", "101 127-0-0-1-8443", "199 default"])
        #expect(try Self.column(database, "SELECT agent_id, console FROM agents ORDER BY agent_id")
                == ["200 usea1-sentinelone-net", "201 127-0-0-1-8443", "299 default"])
        #expect(try Self.column(database, "SELECT threat_id, console FROM ingest_queue ORDER BY threat_id")
                == ["300 usea1-sentinelone-net", "301 127-0-0-1-8443"])
        #expect(try Self.column(database, "SELECT sync_key, console FROM sync_state ORDER BY console")
                == ["http://127.0.0.1:8443 sites=1,2 127-0-0-1-8443", "https://usea1.sentinelone.net usea1-sentinelone-net"])
        #expect(try Self.column(database, "SELECT console FROM ingest_runs ORDER BY run_id") == ["usea1-sentinelone-net", "127-0-0-1-8443"])
        #expect(try database.query("PRAGMA foreign_key_check").isEmpty)
    }

    @Test func anImportOnlyDatabaseIsConsoleDefaultWithNoURL() throws {
        let scratch = try TemporaryDirectory()
        let path = try Self.oldDatabase(urls: [], in: scratch)
        let database = try Database(path: path)
        try Migrator.migrate(database)
        #expect(try Self.column(database, "SELECT console, coalesce(url, 'NULL') FROM consoles") == ["default NULL"])
        // The first console run takes `default` and gives it its URL.
        #expect(try ConsoleNames.register(database, name: nil, url: "https://acme.sentinelone.net").name == "default")
        #expect(try Self.column(database, "SELECT url FROM consoles") == ["https://acme.sentinelone.net"])
    }
}
