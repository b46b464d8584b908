import ArgumentParser

/// The commands that read the database: export, query, report.
enum ReportingCommands {
    static let all: [any ParsableCommand.Type] = [ExportCommand.self, QueryCommand.self, ReportCommand.self]
}

extension ConsoleFilterOption {
    /// The console `--console` names, as the database at `database` stores it; nil without
    /// `--console` (every console). An unknown one is a `ConsoleStoreError` naming the known ones.
    func storedName(in database: DatabaseOption) throws -> String? {
        guard console != nil else { return nil }
        return try name(among: try database.store.openForReading().consoles())
    }
}
