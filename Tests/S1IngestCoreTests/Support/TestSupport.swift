import Foundation
@testable import S1IngestCore

/// Fixtures copied under Tests/S1IngestCoreTests/Fixtures (provenance in SOURCES.md there).
enum Fixture {
    static let capture2022 = "swimlane-console-capture-2022.json"
    static let swimlaneOutput = "swimlane-action-output.json"
    static let sample2025 = "xsoar-sample-2025.json"
    static let listItem = "elastic-list-item.json"
    static let listItemWithIndicators = "elastic-list-item-with-indicators.json"
    static let all = [capture2022, swimlaneOutput, sample2025, listItem, listItemWithIndicators]

    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")!.path
    }

    static func data(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// A file of `Fixtures/tls` (the test CA, the mock console's certificate and key).
    static func tlsPath(_ name: String) -> String {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/tls")!.path
    }
}

/// The repository checkout (for migrations/ and schemas/).
enum Repository {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }
}

/// A temporary directory for one test.
final class Scratch: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("s1ingest-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to a new file and returns its path.
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func file(_ name: String, _ text: String) throws -> String { try file(name, Array(text.utf8)) }
}

/// Reads every item of a file with `DocumentReader`.
func readAll(_ path: String, chunkSize: Int = 1 << 20, maxDocumentBytes: Int = DocumentReader.defaultMaxDocumentBytes) throws -> [InputItem] {
    let reader = try DocumentReader(path: path, maxDocumentBytes: maxDocumentBytes, chunkSize: chunkSize)
    var items: [InputItem] = []
    while let item = try reader.next() { items.append(item) }
    return items
}

extension InputItem {
    var text: String? {
        if case .document(let bytes, _) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    var location: DocumentLocation {
        switch self {
        case .document(_, let location), .problem(let location, _): return location
        }
    }

    var problem: String? {
        if case .problem(_, let reason) = self { return reason }
        return nil
    }
}

/// Imports `paths` into the database at `db` and returns the summary.
func importFiles(_ paths: [String], into db: String, batchSize: Int = 4000) async throws -> ImportSummary {
    try await Importer(options: ImportOptions(databasePath: db, inputs: paths, batchSize: batchSize)).run()
}

/// `SELECT count(*)` of a table.
func count(_ database: Database, _ table: String, where condition: String = "1") throws -> Int64 {
    try database.scalar("SELECT count(*) FROM \(table) WHERE \(condition)").integerValue ?? -1
}
