import Foundation
import PackagePlugin

/// Embeds every `migrations/*.sql` file of the package into the target as Swift source,
/// so the built binary can create and migrate a database with no source tree beside it.
/// A backend target other than SQLite's reads its own subdirectory (`migrations/postgresql/`
/// for S1Postgres); each directory is read non-recursively.
@main
struct EmbedMigrations: BuildToolPlugin {
    /// The migrations subdirectory of each target that has its own; the others read `migrations/`.
    static let subdirectories = ["S1Postgres": "postgresql"]

    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        var directory = context.package.directoryURL.appending(path: "migrations")
        if let subdirectory = Self.subdirectories[target.name] {
            directory = directory.appending(path: subdirectory)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        let inputs = names.map { directory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(names.count) migrations",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs + [directory],
                outputFiles: [output]
            )
        ]
    }
}
