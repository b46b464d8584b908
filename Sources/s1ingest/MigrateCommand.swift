import ArgumentParser
import S1IngestCore

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create the database, or bring an older one to this version's schema."
    )

    @OptionGroup var database: DatabaseOption

    func run() throws {
        // Like every command that writes, migrate refuses to run beside another writer.
        let report = try runReportingErrors { try database.store.migrate() }
        if report.applied.isEmpty {
            print("\(database.path): schema version \(report.toVersion), up to date")
        } else {
            print("\(database.path): schema version \(report.fromVersion) -> \(report.toVersion) (applied \(report.applied.joined(separator: ", ")))")
        }
    }
}

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the schema a fresh database gets (what schemas/database.sql holds).",
        discussion: """
            With --datasette, print Datasette metadata instead: the title, every table's, view's \
            and column's description from the schema's comments, label columns for agents and \
            interfaces, and facets (classification, incident status, site). The database is \
            named after --db (demo for demo.sqlite), as Datasette names it:

              s1ingest schema --datasette --db demo.sqlite > metadata.json
              datasette demo.sqlite -m metadata.json
            """
    )

    @Flag(help: "Print Datasette metadata (JSON) for the database named by --db.")
    var datasette = false

    @OptionGroup var database: DatabaseOption

    func run() throws {
        if datasette {
            let name = DatasetteMetadata.databaseName(forPath: database.path)
            print(try runReportingErrors { try DatasetteMetadata.json(databaseName: name) }, terminator: "")
            return
        }
        print(try runReportingErrors { try SchemaDump.freshDatabaseSQL() }, terminator: "")
    }
}
