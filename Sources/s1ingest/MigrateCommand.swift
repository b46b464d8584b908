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
        let report = try runReportingErrors { try StoreOpener.migrate(path: database.path) }
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
        abstract: "Print the schema a fresh database gets (what schemas/database.sql holds)."
    )

    func run() throws {
        print(try runReportingErrors { try SchemaDump.freshDatabaseSQL() }, terminator: "")
    }
}
