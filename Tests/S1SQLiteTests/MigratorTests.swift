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
