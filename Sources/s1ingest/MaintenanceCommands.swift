import ArgumentParser

/// The commands for unattended operation and upkeep: sync, prune, rebuild, coverage.
enum MaintenanceCommands {
    static let all: [any ParsableCommand.Type] = [SyncCommand.self, PruneCommand.self, RebuildCommand.self, CoverageCommand.self, CopyCommand.self]
}
