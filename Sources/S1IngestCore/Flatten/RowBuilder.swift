import S1JSON

/// Accumulates rows for one analysis: values go into a flat array, text into one arena.
struct RowBuilder {
    var arena: [UInt8] = []
    var values: [FlatValue] = []
    var rows: [FlattenedAnalysis.Row] = []

    init(capacity: Int) {
        arena.reserveCapacity(capacity)
        values.reserveCapacity(256)
        rows.reserveCapacity(32)
    }

    mutating func begin(_ table: Table) {
        rows.append(.init(table: table, first: Int32(values.count)))
    }

    /// Checks, in debug builds, that the row just written has one value per column.
    func end() {
        assert(rows.last.map { values.count - Int($0.first) == $0.table.columns.count } ?? true,
               "row of \(rows.last!.table.name) has the wrong number of values")
    }

    mutating func null() { values.append(.null) }

    mutating func integer(_ number: Int64) { values.append(.integer(number)) }

    mutating func text(_ bytes: UnsafeRawBufferPointer) {
        let start = arena.count
        arena.append(contentsOf: bytes)
        values.append(.text(start: Int32(start), count: Int32(bytes.count)))
    }

    mutating func text(_ string: String) {
        var string = string
        string.withUTF8 { text(UnsafeRawBufferPointer($0)) }
    }

    mutating func text(_ string: String?) {
        if let string { text(string) } else { null() }
    }

    /// Appends one value per mapping from `object` (NULLs when it is missing or not an object).
    mutating func fields(of object: JSONValue?, _ mappings: [FieldMapping]) {
        guard let object, object.kind == .object else {
            for _ in mappings { null() }
            return
        }
        var hint: Int32 = 0
        for mapping in mappings { field(object.member(mapping.keyBytes, hint: &hint), mapping.kind) }
    }

    /// Appends `value` converted as `kind`; a missing value is NULL.
    mutating func field(_ value: JSONValue?, _ kind: FieldKind) {
        guard let value, !value.isNull else { return null() }
        switch kind {
        case .text, .optionalText:
            switch value.kind {
            case .string:
                value.withStringBytes { bytes in
                    if bytes.isEmpty && kind == .optionalText { null() } else { text(bytes) }
                }
            default: value.withRawBytes { text($0) }
            }
        case .json:
            if value.kind == .string { value.withStringBytes { text($0) } } else { value.withRawBytes { text($0) } }
        case .integer:
            switch value.kind {
            case .number, .string:
                let parsed = value.kind == .number ? value.int64 : value.withStringBytes { parseInt64($0) }
                if let parsed { integer(parsed) } else { null() }
            case .true: integer(1)
            case .false: integer(0)
            default: null()
            }
        case .boolean:
            switch value.kind {
            case .true: integer(1)
            case .false: integer(0)
            case .number: if let number = value.int64 { integer(number == 0 ? 0 : 1) } else { null() }
            case .string:
                switch value.string?.lowercased() {
                case "true", "1": integer(1)
                case "false", "0": integer(0)
                default: null()
                }
            default: null()
            }
        case .timestamp:
            guard value.kind == .string else { return null() }
            value.withStringBytes { bytes in
                let normalized = withUnsafeTemporaryAllocation(byteCount: normalizedTimestampLength, alignment: 1) { output in
                    guard normalizeTimestamp(bytes, into: output) else { return false }
                    text(UnsafeRawBufferPointer(output))
                    return true
                }
                if normalized {
                    return
                } else if bytes.isEmpty {
                    null()
                } else {
                    text(bytes)
                }
            }
        }
    }
}
