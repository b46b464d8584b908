import ArgumentParser

/// The commands that read the database: export, query, report.
enum ReportingCommands {
    static let all: [any ParsableCommand.Type] = [ExportCommand.self, QueryCommand.self, ReportCommand.self]
}
