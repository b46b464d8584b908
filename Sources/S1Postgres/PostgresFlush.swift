import Foundation
import NIOCore
import PostgresNIO
import S1Common
import S1Model

/// One step of a writer's flush: a statement, or a `COPY table (columns) FROM STDIN` with its
/// rows, in the text format (`PGCopyText`) or the binary one (`PGCopyBinary`).
enum PGFlushStep {
    case query(PostgresQuery)
    case copy(table: String, columns: [String], data: ByteBuffer, binary: Bool = false)

    /// The column list `PostgresConnection.copyFrom` is given for a binary COPY. postgres-nio
    /// (1.33) offers the text format only: it writes `COPY "table"("a","b") FROM STDIN WITH
    /// (FORMAT text)`, each column name quoted as given and not escaped, and does not look at
    /// the format the server then asks for. So the last name closes the list and the statement
    /// with the binary format, and turns what follows into a comment. The names are the
    /// writer's own (`Table.columns`), never input. `PostgresCopyTests` checks the statement
    /// a binary COPY runs, so a postgres-nio that quotes names differently fails there.
    static func binaryCopyColumns(_ columns: [String]) -> [String] {
        guard let last = columns.last else { return columns }
        return columns.dropLast() + [last + "\") FROM STDIN WITH (FORMAT binary) --"]
    }
}

/// A flush sent to the server and not waited for: its steps run in order on the connection's
/// event loop (statements pipelined, each COPY after the statements before it), while the
/// writer's thread goes on with the next rows. `wait` blocks until every step is answered and
/// throws the first error (after which the remaining steps are not sent: the transaction is
/// aborted anyway).
final class PGFlight: @unchecked Sendable {
    /// The largest CopyData message a COPY step sends.
    static let copyMessageBytes = 64 * 1024

    private let finished = DispatchSemaphore(value: 0)
    /// Written by the task before it signals `finished`, read after `wait`.
    private var failure: (any Error)?
    private var waited = false

    /// Starts `steps` on `connection` (which must have nothing else in flight).
    init(_ steps: [PGFlushStep], on connection: PGConnection) {
        let postgres = connection.connection
        let executor = EventLoopTaskExecutor(postgres.eventLoop)
        Task(executorPreference: executor) { [self] in
            var pending: [EventLoopFuture<PostgresQueryResult>] = []
            var firstError: (any Error)?
            func settle() async {
                for future in pending {
                    do { _ = try await future.get() } catch { if firstError == nil { firstError = error } }
                }
                pending.removeAll()
            }
            for step in steps {
                switch step {
                case .query(let query):
                    pending.append(postgres.query(query, logger: PGConnection.logger))
                case .copy(let table, let columns, let data, let binary):
                    // The statements before it are answered before the server starts the COPY anyway.
                    await settle()
                    if firstError != nil { break }
                    do {
                        try await postgres.copyFrom(table: table, columns: binary ? PGFlushStep.binaryCopyColumns(columns) : columns,
                                                    format: .text(.init()), logger: PGConnection.logger) { writer in
                            // In messages of at most `copyMessageBytes`: the server holds one
                            // message whole in memory, and a flush's COPY of megabytes in one
                            // cost it fresh pages (faulted in, zeroed, unmapped) per statement.
                            var rest = data
                            while let message = rest.readSlice(length: min(rest.readableBytes, PGFlight.copyMessageBytes)), message.readableBytes > 0 {
                                try await writer.write(message)
                            }
                        }
                    } catch {
                        firstError = error
                    }
                }
                if firstError != nil { break }
            }
            await settle()
            failure = firstError
            finished.signal()
        }
    }

    /// Blocks until the flight is answered.
    func land() {
        if !waited {
            finished.wait()
            waited = true
        }
    }

    /// Blocks until the flight is answered; throws its first error.
    func wait(location: PostgresLocation) throws {
        land()
        if let failure { throw PGConnection.mapError(failure, location: location, connecting: false) }
    }
}

/// Runs a task's jobs on one NIO event loop: the flush's awaits resume where the connection's
/// channel lives, never on the cooperative pool (whose threads the synchronous store's callers
/// may all be blocking).
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}

/// Rows in the text format of `COPY ... FROM STDIN`: columns separated by tabs, rows ended by a
/// newline, `\N` for NULL, backslash escapes for backslash, tab, newline and carriage return;
/// for tables with a column type `PGCopyBinary` cannot send.
/// Values are converted by `PGValue`, as for the binary format (NUL bytes dropped too), so both
/// formats store the same.
struct PGCopyText {
    private(set) var bytes: [UInt8] = []
    private var atRowStart = true

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    var isEmpty: Bool { bytes.isEmpty }

    private mutating func separate() {
        if atRowStart { atRowStart = false } else { bytes.append(0x09) }
    }

    mutating func endRow() {
        bytes.append(0x0A)
        atRowStart = true
    }

    mutating func appendNull() {
        separate()
        bytes.append(0x5C)
        bytes.append(UInt8(ascii: "N"))
    }

    mutating func appendText(_ text: String) {
        var text = text
        text.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0)) }
    }

    /// One flattened value for a column of `element`'s type (converted by `PGValue`).
    mutating func append(_ value: FlatValue, _ element: PGElement, arena: UnsafeRawBufferPointer) {
        switch PGValue(value, element, arena: arena) {
        case .null: appendNull()
        case .bigint(let number), .decimal(let number): appendDecimal(number)
        case .boolean(let flag):
            separate()
            bytes.append(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .timestamp(let micros): appendTimestamp(micros)
        case .text(let text): appendEscaped(text)
        }
    }

    private mutating func appendDecimal(_ number: Int64) {
        separate()
        if number == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// Microseconds since 2000-01-01 UTC as `YYYY-MM-DD HH:MM:SS.ffffff+00` (`BC` before year 1):
    /// the instant the binary path sends, whatever the day of month was (31 February included).
    private mutating func appendTimestamp(_ micros: Int64) {
        separate()
        let (year, month, day, hour, minute, second, fraction) = civilTime(microsSince2000: micros)
        /// At least `width` digits (a year past 9999 gets five).
        func put(_ value: Int64, width: Int) {
            var divisor: Int64 = 1
            var digits = 1
            while digits < width || value / divisor >= 10 {
                divisor *= 10
                digits += 1
            }
            var value = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(value / divisor))
                value %= divisor
                divisor /= 10
            }
        }
        put(year > 0 ? year : 1 - year, width: 4)
        bytes.append(UInt8(ascii: "-"))
        put(month, width: 2)
        bytes.append(UInt8(ascii: "-"))
        put(day, width: 2)
        bytes.append(UInt8(ascii: " "))
        put(hour, width: 2)
        bytes.append(UInt8(ascii: ":"))
        put(minute, width: 2)
        bytes.append(UInt8(ascii: ":"))
        put(second, width: 2)
        bytes.append(UInt8(ascii: "."))
        put(fraction, width: 6)
        bytes.append(UInt8(ascii: "+"))
        bytes.append(UInt8(ascii: "0"))
        bytes.append(UInt8(ascii: "0"))
        if year <= 0 {
            bytes.append(UInt8(ascii: " "))
            bytes.append(UInt8(ascii: "B"))
            bytes.append(UInt8(ascii: "C"))
        }
    }

    /// Text with COPY's escapes; NUL bytes (which PostgreSQL text cannot hold) dropped.
    private mutating func appendEscaped(_ text: UnsafeRawBufferPointer) {
        separate()
        var runStart = 0
        for index in 0 ..< text.count {
            let byte = text[index]
            let escaped: UInt8
            switch byte {
            case 0x5C: escaped = 0x5C
            case 0x0A: escaped = UInt8(ascii: "n")
            case 0x0D: escaped = UInt8(ascii: "r")
            case 0x09: escaped = UInt8(ascii: "t")
            case 0x00: escaped = 0
            default: continue
            }
            if runStart < index { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[runStart ..< index])) }
            if escaped != 0 {
                bytes.append(0x5C)
                bytes.append(escaped)
            }
            runStart = index + 1
        }
        if runStart < text.count { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[runStart ..< text.count])) }
    }

    /// The rows, for `PGFlushStep.copy`.
    func buffer() -> ByteBuffer {
        ByteBuffer(bytes: bytes)
    }
}
