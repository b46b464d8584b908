import Glibc
import NIOCore
import PostgresNIO
import S1Model

/// The column types the writer sends in PostgreSQL's binary format, and how.
enum PGElement {
    case text, bigint, boolean, timestamp

    /// `json` goes as `text` (its binary form is its text).
    init(columnType: String) {
        switch columnType {
        case "bigint": self = .bigint
        case "boolean": self = .boolean
        case "timestamp with time zone": self = .timestamp
        default: self = .text
        }
    }

    /// True for the column types whose binary form is the one `init(columnType:)` picks: a
    /// binary COPY sends no cast, so a table with any other column type (one changed by hand,
    /// say) goes by COPY's text format instead.
    static func isBinaryExact(_ columnType: String) -> Bool {
        ["text", "json", "bigint", "boolean", "timestamp with time zone"].contains(columnType)
    }

    var oid: UInt32 {
        switch self {
        case .text: return 25
        case .bigint: return 20
        case .boolean: return 16
        case .timestamp: return 1184
        }
    }

    var arrayType: PostgresDataType {
        switch self {
        case .text: return .textArray
        case .bigint: return .int8Array
        case .boolean: return .boolArray
        case .timestamp: return PostgresDataType(1185)
        }
    }
}

/// A flattened value as a column of `element`'s type takes it, the one conversion both of the
/// writer's formats (`PGBinaryFields`, `PGCopyText`) then write: a timestamp not in the stored
/// form, or text that is not a number for a number column, becomes NULL rather than fail the
/// batch (the raw body keeps what was sent).
enum PGValue {
    case null
    case bigint(Int64)
    /// A number for a text column, written as its decimal text.
    case decimal(Int64)
    case boolean(Bool)
    /// Microseconds since 2000-01-01 UTC.
    case timestamp(Int64)
    /// UTF-8 bytes (of the analysis's arena).
    case text(UnsafeRawBufferPointer)

    init(_ value: FlatValue, _ element: PGElement, arena: UnsafeRawBufferPointer) {
        func bytes(_ start: Int32, _ count: Int32) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: arena[Int(start) ..< Int(start + count)])
        }
        switch (element, value) {
        case (_, .null): self = .null
        case (.text, .integer(let number)): self = .decimal(number)
        case (.text, .text(let start, let count)): self = .text(bytes(start, count))
        case (.bigint, .integer(let number)): self = .bigint(number)
        case (.bigint, .text(let start, let count)): self = PGBinaryFields.integer(bytes(start, count)).map { .bigint($0) } ?? .null
        case (.boolean, .integer(let number)): self = .boolean(number != 0)
        case (.boolean, .text): self = .null
        case (.timestamp, .text(let start, let count)): self = PGBinaryFields.microsSince2000(bytes(start, count)).map { .timestamp($0) } ?? .null
        case (.timestamp, .integer): self = .null
        }
    }
}

/// Values in PostgreSQL's binary format, each a 32-bit length (-1 for NULL) and its bytes: the
/// elements of a binary array and the fields of a binary COPY's rows are both written so.
/// A flattened value is converted for its column's type by `PGValue`; NUL bytes, which
/// PostgreSQL text cannot hold, are dropped.
struct PGBinaryFields {
    private(set) var bytes: [UInt8]
    /// How many values were appended.
    private(set) var count = 0

    init(prefix: [UInt8] = [], capacity: Int = 0) {
        bytes = prefix
        bytes.reserveCapacity(max(capacity, prefix.count))
    }

    mutating func int16(_ value: Int16) {
        let bits = UInt16(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
        bytes.append(UInt8(truncatingIfNeeded: bits))
    }

    mutating func int32(_ value: Int32) {
        let bits = UInt32(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
        bytes.append(UInt8(truncatingIfNeeded: bits))
    }

    /// Overwrites the 32-bit number at `offset`.
    mutating func patch(_ value: UInt32, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    private mutating func int64(_ value: Int64) {
        count += 1
        int32(8)
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    mutating func appendNull() {
        count += 1
        int32(-1)
    }

    mutating func appendInt64(_ value: Int64, as element: PGElement) {
        if element == .bigint { int64(value) } else { appendText(String(value)) }
    }

    mutating func appendText(_ text: String) {
        var text = text
        text.withUTF8 { appendBytes(UnsafeRawBufferPointer($0)) }
    }

    /// One flattened value for a column of `element`'s type.
    mutating func append(_ value: FlatValue, as element: PGElement, arena: UnsafeRawBufferPointer) {
        switch PGValue(value, element, arena: arena) {
        case .null: appendNull()
        case .bigint(let number), .timestamp(let number): int64(number)
        case .decimal(let number): appendText(String(number))
        case .boolean(let flag):
            count += 1
            int32(1)
            bytes.append(flag ? 1 : 0)
        case .text(let text): appendBytes(text)
        }
    }

    /// The value's bytes; NUL bytes dropped.
    private mutating func appendBytes(_ text: UnsafeRawBufferPointer) {
        count += 1
        if text.isEmpty || memchr(text.baseAddress!, 0, text.count) == nil {
            int32(Int32(text.count))
            bytes.append(contentsOf: text)
        } else {
            let kept = text.filter { $0 != 0 }
            int32(Int32(kept.count))
            bytes.append(contentsOf: kept)
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (the form the flattener normalises times to) as
    /// PostgreSQL's binary timestamptz: microseconds since 2000-01-01 UTC; nil for anything else.
    static func microsSince2000(_ text: UnsafeRawBufferPointer) -> Int64? {
        guard text.count == 27, text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"), text[10] == UInt8(ascii: "T"),
              text[13] == UInt8(ascii: ":"), text[16] == UInt8(ascii: ":"), text[19] == UInt8(ascii: "."), text[26] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ from: Int, _ to: Int) -> Int64? {
            var value: Int64 = 0
            for index in from ..< to {
                let digit = text[index]
                guard digit >= 0x30 && digit <= 0x39 else { return nil }
                value = value * 10 + Int64(digit - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 7), let day = number(8, 10), let hour = number(11, 13),
              let minute = number(14, 16), let second = number(17, 19), let micros = number(20, 26),
              (1 ... 12).contains(month), (1 ... 31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days since 1970 from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days - 10_957) * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000 + micros
    }

    static func integer(_ text: UnsafeRawBufferPointer) -> Int64? {
        guard !text.isEmpty, text.count <= 19 else { return nil }
        return Int64(String(decoding: text, as: UTF8.self))
    }
}

/// An array in PostgreSQL's binary format, built element by element: nothing for the client to
/// escape or the server to parse. Columns of `bigint`, `boolean` and `timestamptz` get arrays of
/// their own type (no cast per element on the server); others `text[]`, cast by the statement.
struct PGArrayBuilder {
    typealias Element = PGElement

    let element: Element
    /// Header (ndim, flags, element type, length, lower bound), the length patched at the end.
    private var fields: PGBinaryFields

    init(_ element: Element = .text) {
        self.element = element
        let oid = element.oid
        fields = PGBinaryFields(prefix: [0, 0, 0, 1, 0, 0, 0, 1, UInt8(oid >> 24), UInt8((oid >> 16) & 0xff), UInt8((oid >> 8) & 0xff), UInt8(oid & 0xff),
                                         0, 0, 0, 0, 0, 0, 0, 1])
    }

    mutating func appendNull() { fields.appendNull() }

    mutating func appendInt64(_ value: Int64) { fields.appendInt64(value, as: element) }

    mutating func appendText(_ text: String) { fields.appendText(text) }

    /// One flattened value for this array's column (see `PGBinaryFields`).
    mutating func append(_ value: FlatValue, arena: UnsafeRawBufferPointer) { fields.append(value, as: element, arena: arena) }

    /// The array as a bind parameter.
    mutating func finish() -> PGBinaryValue {
        if fields.count == 0 {
            var empty: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0]
            empty += fields.bytes[8 ..< 12]
            return PGBinaryValue(ByteBuffer(bytes: empty), type: element.arrayType)
        }
        fields.patch(UInt32(fields.count), at: 12)
        return PGBinaryValue(ByteBuffer(bytes: fields.bytes), type: element.arrayType)
    }
}

/// Rows in the binary format of `COPY ... FROM STDIN (FORMAT binary)`: a signature, then per
/// row its field count and fields (as `PGBinaryFields`), then -1. The server copies each field
/// as it is (no escapes to undo, no text to parse into numbers and times): about a fifth less of
/// its time per imported analysis than COPY's text format.
struct PGCopyBinary {
    private var fields: PGBinaryFields

    /// `capacity`: the bytes to reserve (the last flush's size of the table, say), so the rows
    /// are not copied again each time the buffer doubles.
    init(capacity: Int = 0) {
        fields = PGBinaryFields(prefix: Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], capacity: capacity)
    }

    /// The bytes written so far.
    var count: Int { fields.bytes.count }

    /// Starts a row of `fieldCount` fields.
    mutating func beginRow(fieldCount: Int) {
        fields.int16(Int16(fieldCount))
    }

    mutating func append(_ value: FlatValue, _ element: PGElement, arena: UnsafeRawBufferPointer) {
        fields.append(value, as: element, arena: arena)
    }

    mutating func appendText(_ text: String) { fields.appendText(text) }

    /// The rows and the trailer, for `PGFlushStep.copy`.
    func buffer() -> ByteBuffer {
        var buffer = ByteBuffer(bytes: fields.bytes)
        buffer.writeInteger(Int16(-1))
        return buffer
    }
}
