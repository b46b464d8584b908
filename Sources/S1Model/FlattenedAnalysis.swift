import S1JSON
import S1Common
/// One column value of a flattened row. Text lives in the analysis's byte arena, so
/// flattening makes no string per value.
public enum FlatValue: Sendable, Equatable {
    case null
    case integer(Int64)
    /// UTF-8 bytes `start ..< start + count` of the arena.
    case text(start: Int32, count: Int32)
}

/// A threat analysis as rows ready to insert: produced by `AnalysisFlattener` (any thread),
/// consumed by the store (the one writer).
public struct FlattenedAnalysis: Sendable {
    public struct Row: Sendable {
        public let table: Table
        /// Index of the row's first value in `values`; the table's column count says how many.
        package let first: Int32
    }

    public let threatId: String
    public let agentId: String?
    /// `threatInfo.updatedAt`, normalised; decides whether a stored version is newer.
    public let updatedAt: String?
    /// A fingerprint of `agentRealtimeInfo`, so an unchanged agent is not rewritten.
    public let agentFingerprint: UInt64
    /// A fingerprint of `agentRealtimeInfo.networkInterfaces`: the agent's interface rows are
    /// replaced only when it changes (the rest of the agent changes with nearly every threat).
    public let interfacesFingerprint: UInt64
    /// Where the analysis came from.
    public let source: String
    package var arena: [UInt8]
    package var values: [FlatValue]
    public private(set) var rows: [Row]

    package init(threatId: String, agentId: String?, updatedAt: String?, agentFingerprint: UInt64, interfacesFingerprint: UInt64, source: String,
         arena: [UInt8], values: [FlatValue], rows: [Row]) {
        self.threatId = threatId
        self.agentId = agentId
        self.updatedAt = updatedAt
        self.agentFingerprint = agentFingerprint
        self.interfacesFingerprint = interfacesFingerprint
        self.source = source
        self.arena = arena
        self.values = values
        self.rows = rows
    }

    /// The values of `row`, one per column of its table.
    public func values(of row: Row) -> ArraySlice<FlatValue> {
        let first = Int(row.first)
        return values[first ..< first + row.table.columns.count]
    }

    /// A value as a `SQLValue`, for tests and diagnostics.
    public func sqlValue(_ value: FlatValue) -> SQLValue {
        switch value {
        case .null: return .null
        case .integer(let number): return .integer(number)
        case .text(let start, let count):
            return .text(String(decoding: arena[Int(start) ..< Int(start + count)], as: UTF8.self))
        }
    }

    /// The rows of one table as `SQLValue`s keyed by column, for tests and diagnostics.
    public func rows(of table: Table) -> [[String: SQLValue]] {
        rows.filter { $0.table == table }.map { row in
            Dictionary(uniqueKeysWithValues: zip(table.columns, values(of: row).map(sqlValue)))
        }
    }

    /// The raw body bytes (the `body` value of the `raw_analyses` row).
    package func withBody<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        guard let row = rows.last(where: { $0.table == .rawAnalyses }),
              case .text(let start, let count) = values[Int(row.first) + 1] else {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return try arena.withUnsafeBytes { bytes in try body(UnsafeRawBufferPointer(rebasing: bytes[Int(start) ..< Int(start + count)])) }
    }
}
