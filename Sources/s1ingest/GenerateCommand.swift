import ArgumentParser
import Foundation
import S1MockConsole

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write synthetic threat analyses as newline-delimited JSON (for trying s1ingest out and benchmarks)."
    )

    @Option(help: "How many analyses.")
    var count = 1000

    @Option(help: "Seed: the same seed gives the same analyses.")
    var seed: UInt64 = 1

    @Option(help: "How many distinct agents (default: count / 10).")
    var agents: Int?

    @Option(name: .shortAndLong, help: ArgumentHelp("Output file (default: standard output).", valueName: "file"))
    var output: String?

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count cannot be negative") }
        if let agents, agents < 1 { throw ValidationError("--agents must be at least 1") }
    }

    func run() throws {
        let set = SyntheticAnalyses(count: count, seed: seed, agentCount: agents)
        let handle: FileHandle = try runReportingErrors {
            guard let output else { return FileHandle.standardOutput }
            guard FileManager.default.createFile(atPath: output, contents: nil) else { throw OutputFileError(path: output) }
            return try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        }
        var chunk = Data()
        for index in 0..<count {
            chunk.append(contentsOf: set.body(index).utf8)
            chunk.append(0x0A)
            if chunk.count > 1 << 20 {
                try handle.write(contentsOf: chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: chunk)
    }
}

/// An output file that cannot be created (a fatal error, exit 2, not a usage error).
struct OutputFileError: Error, CustomStringConvertible {
    let path: String
    var description: String { "cannot create \(path)" }
}
