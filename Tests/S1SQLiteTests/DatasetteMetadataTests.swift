import Foundation
import S1IngestCore
import S1Testing
import Testing

/// `s1ingest schema --datasette`: the metadata says what `schemas/database.sql` says.
@Suite struct DatasetteMetadataTests {
    /// The repository's `schemas/database.sql`.
    static let schemaText: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("schemas/database.sql").path) {
            url.deleteLastPathComponent()
        }
        return (try? String(contentsOf: url.appendingPathComponent("schemas/database.sql"), encoding: .utf8)) ?? ""
    }()

    /// What the schema file documents, read independently of the code under test: each table's
    /// or view's description and each column's comment.
    struct Documented {
        var descriptions: [String: String] = [:]
        var columns: [String: [String: String]] = [:]
        var order: [String] = []
    }

    static func documented() -> Documented {
        var result = Documented()
        var current: String?
        var inHeader = false
        for line in schemaText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if let match = line.firstMatch(of: /^CREATE (?:TABLE|VIEW) (\w+) (?:\(|AS) -- (.*)$/) {
                current = String(match.1)
                result.order.append(String(match.1))
                result.descriptions[String(match.1)] = String(match.2)
                inHeader = true
                continue
            }
            if line.hasPrefix("CREATE ") { current = nil; inHeader = false; continue }
            guard let table = current else { continue }
            if inHeader, line.hasPrefix("-- ") {
                result.descriptions[table, default: ""] += " " + line.dropFirst(3)
                continue
            }
            inHeader = false
            if let match = line.firstMatch(of: /^    (\w+) [^-]*?-- (.*)$/),
               !["PRIMARY", "FOREIGN", "UNIQUE", "CHECK", "CONSTRAINT"].contains(String(match.1)) {
                result.columns[table, default: [:]][String(match.1)] = String(match.2)
            }
        }
        return result
    }

    static func metadata(_ name: String = "demo") throws -> [String: Any] {
        let json = try DatasetteMetadata.json(databaseName: name)
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    static func tables(_ metadata: [String: Any], _ name: String = "demo") throws -> [String: [String: Any]] {
        let databases = try #require(metadata["databases"] as? [String: Any])
        let database = try #require(databases[name] as? [String: Any])
        #expect(database["description"] is String)
        return try #require(database["tables"] as? [String: [String: Any]])
    }

    @Test func titleAndDatabaseName() throws {
        let metadata = try Self.metadata("threats")
        #expect(metadata["title"] as? String == "s1ingest: SentinelOne threat analyses")
        #expect(try !Self.tables(metadata, "threats").isEmpty)
        #expect(DatasetteMetadata.databaseName(forPath: "demo.sqlite") == "demo")
        #expect(DatasetteMetadata.databaseName(forPath: "/var/lib/s1ingest/threats.sqlite") == "threats")
        #expect(DatasetteMetadata.databaseName(forPath: "a.b.db") == "a.b")
    }

    /// Every table and view of a fresh database is described, with the comment the schema gives it.
    @Test func tableAndViewDescriptionsAreTheSchemaComments() throws {
        let documented = Self.documented()
        #expect(documented.order.count >= 20, "the schema file was read")
        let tables = try Self.tables(Self.metadata())
        let fresh = try Database(path: ":memory:")
        try Migrator.migrate(fresh)
        let names = try fresh.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")
            .compactMap { $0.first?.textValue }
        #expect(Set(tables.keys) == Set(names))
        for name in names {
            let expected = try #require(documented.descriptions[name], "\(name) has a comment in schemas/database.sql")
            #expect(tables[name]?["description"] as? String == expected, "\(name)")
        }
        #expect((tables["threat_overview"]?["description"] as? String)?.contains("is_resolved is 1 when") == true)
    }

    /// Every commented column has that comment as its description, and every described column exists.
    @Test func columnDescriptionsAreTheSchemaComments() throws {
        let documented = Self.documented()
        let tables = try Self.tables(Self.metadata())
        let fresh = try Database(path: ":memory:")
        try Migrator.migrate(fresh)
        var described = 0
        for (name, table) in tables {
            let columns = Set(try fresh.query("SELECT name FROM pragma_table_info(?)", [.text(name)]).compactMap { $0.first?.textValue })
            let got = (table["columns"] as? [String: String]) ?? [:]
            let expected = documented.columns[name] ?? [:]
            #expect(got == expected, "\(name)")
            #expect(Set(got.keys).isSubset(of: columns), "\(name)")
            described += got.count
        }
        #expect(described >= 60)
        #expect((tables["ingest_queue"]?["columns"] as? [String: String])?["retryable"]
                == "0/1: a later `ingest --queue` tries a failed ID again only when 1")
        #expect((tables["threats"]?["columns"] as? [String: String])?["threat_id"] == "threatInfo.threatId")
    }

    /// Label columns, facets and sorting name real columns; facets cover classification, status and site.
    @Test func labelColumnsAndFacets() throws {
        let tables = try Self.tables(Self.metadata())
        let fresh = try Database(path: ":memory:")
        try Migrator.migrate(fresh)
        #expect(tables["agents"]?["label_column"] as? String == "agent_computer_name")
        #expect(tables["interfaces"]?["label_column"] as? String == "name")
        #expect(tables["threats"]?["facets"] as? [String] == ["classification", "incident_status", "detection_site_name"])
        #expect(tables["threat_overview"]?["facets"] as? [String] == ["classification", "incident_status", "site_name"])
        for (name, table) in tables {
            let columns = Set(try fresh.query("SELECT name FROM pragma_table_info(?)", [.text(name)]).compactMap { $0.first?.textValue })
            var named = (table["facets"] as? [String]) ?? []
            if let label = table["label_column"] as? String { named.append(label) }
            if let sort = table["sort_desc"] as? String { named.append(sort) }
            for column in named { #expect(columns.contains(column), "\(name).\(column)") }
        }
    }
}
