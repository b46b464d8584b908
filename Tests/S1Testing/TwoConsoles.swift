import Foundation
import S1IngestCore
import S1MockConsole

/// A database holding two consoles, filled through the real importer (`import --console`):
/// the analyses of `set` detected on its first half of agents belong to console `east`, the
/// rest to `west`, so no threat or agent is shared (a shared one would be a conflict).
package struct TwoConsoles: Sendable {
    package static let names = ["east", "west"]

    package let set: SyntheticAnalyses
    package let path: String

    /// The console analysis `index` was imported for.
    package func console(_ index: Int) -> String { set.agentIndex(index) < set.agentCount / 2 ? "east" : "west" }

    /// The threat IDs imported for `console`.
    package func threatIds(_ console: String) -> [String] {
        (0..<set.count).filter { self.console($0) == console }.map(set.threatId)
    }

    /// Imports `set` (at least two agents) into a new database at `path`.
    package static func make(_ set: SyntheticAnalyses = SyntheticAnalyses(count: 60, seed: 7, agentCount: 6), at path: String) async throws -> TwoConsoles {
        let made = TwoConsoles(set: set, path: path)
        for console in names {
            let input = path + ".\(console).ndjson"
            defer { try? FileManager.default.removeItem(atPath: input) }
            let text = (0..<set.count).filter { made.console($0) == console }.map { set.body($0) }.joined(separator: "\n") + "\n"
            try text.write(toFile: input, atomically: true, encoding: .utf8)
            var options = ImportOptions(databasePath: path, inputs: [input])
            options.console = console
            _ = try await Importer(options: options).run()
        }
        return made
    }
}
