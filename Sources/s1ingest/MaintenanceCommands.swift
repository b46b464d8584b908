import ArgumentParser

/// The commands for unattended operation: sync, prune.
enum MaintenanceCommands {
    static let all: [any ParsableCommand.Type] = [SyncCommand.self, PruneCommand.self]
}
