import Foundation
import S1IngestCore

/// Fixtures copied under Tests/S1Testing/Fixtures (provenance in SOURCES.md there).
package enum Fixture {
    package static let capture2022 = "swimlane-console-capture-2022.json"
    package static let swimlaneOutput = "swimlane-action-output.json"
    package static let sample2025 = "xsoar-sample-2025.json"
    package static let listItem = "elastic-list-item.json"
    package static let listItemWithIndicators = "elastic-list-item-with-indicators.json"
    package static let all = [capture2022, swimlaneOutput, sample2025, listItem, listItemWithIndicators]

    package static func path(_ name: String) -> String {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")!.path
    }

    package static func data(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// A file of `Fixtures/tls` (the test CA, the mock console's certificate and key).
    package static func tlsPath(_ name: String) -> String {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/tls")!.path
    }
}

/// The repository checkout (for migrations/ and schemas/).
package enum Repository {
    package static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    package static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }
}

/// A fresh temporary directory for one test: removed by `cleanUp()`, or when the last
/// reference to it goes. The one temporary-directory helper of every test target.
package final class TemporaryDirectory: @unchecked Sendable {
    package let url: URL

    package init(prefix: String = "s1ingest-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { cleanUp() }

    package func cleanUp() { try? FileManager.default.removeItem(at: url) }

    package func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to a new file and returns its path.
    package func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    package func file(_ name: String, _ text: String) throws -> String { try file(name, Array(text.utf8)) }
}

/// Reads every item of a file with `DocumentReader`.
package func readAll(_ path: String, chunkSize: Int = 1 << 20, maxDocumentBytes: Int = DocumentReader.defaultMaxDocumentBytes) throws -> [InputItem] {
    let reader = try DocumentReader(path: path, maxDocumentBytes: maxDocumentBytes, chunkSize: chunkSize)
    var items: [InputItem] = []
    while let item = try reader.next() { items.append(item) }
    return items
}

extension InputItem {
    package var text: String? {
        if case .document(let bytes, _) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    package var location: DocumentLocation {
        switch self {
        case .document(_, let location), .problem(let location, _): return location
        }
    }

    package var problem: String? {
        if case .problem(_, let reason) = self { return reason }
        return nil
    }
}

/// Imports `paths` into the database at `db` and returns the summary.
package func importFiles(_ paths: [String], into db: String, batchSize: Int = 4000) async throws -> ImportSummary {
    try await Importer(options: ImportOptions(databasePath: db, inputs: paths, batchSize: batchSize)).run()
}

/// `SELECT count(*)` of a table.
package func count(_ database: Database, _ table: String, where condition: String = "1") throws -> Int64 {
    try database.scalar("SELECT count(*) FROM \(table) WHERE \(condition)").integerValue ?? -1
}
