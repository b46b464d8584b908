/// `2021-12-14T20:23:47.249133Z`, `...47.249Z`, `...47Z` or `...47+00:00` ->
/// `2021-12-14T20:23:47.249133Z`: always six fractional digits and `Z`, so that comparing
/// the text compares the times. Other offsets (`+02:00`, `-0530`) are converted to UTC.
/// Anything else (other layouts) is nil, and the flattener stores it as sent.
package func normalizeTimestamp(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
    var result = [UInt8](repeating: 0, count: normalizedTimestampLength)
    let normalized = result.withUnsafeMutableBytes { normalizeTimestamp(bytes, into: $0) }
    return normalized ? result : nil
}

/// Length of a normalised timestamp, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
package let normalizedTimestampLength = 27

/// A normalised timestamp with every digit zero: `formatTimestamp` fills in the digits.
private let timestampLayout: StaticString = "0000-00-00T00:00:00.000000Z"

/// Writes the normalised form of `bytes` to the first `normalizedTimestampLength` bytes of
/// `output` and returns true; false (output undefined) when `bytes` is not such a timestamp.
/// Allocates nothing: the flattener calls it for every timestamp of every analysis.
package func normalizeTimestamp(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
    let count = bytes.count
    guard count >= 20, output.count >= normalizedTimestampLength else { return false }
    // YYYY-MM-DDTHH:MM:SS
    for index in 0 ..< 19 {
        let byte = bytes[index]
        switch index {
        case 4, 7: guard byte == UInt8(ascii: "-") else { return false }
        case 10: guard byte == UInt8(ascii: "T") || byte == UInt8(ascii: "t") || byte == UInt8(ascii: " ") else { return false }
        case 13, 16: guard byte == UInt8(ascii: ":") else { return false }
        default: guard byte &- UInt8(ascii: "0") < 10 else { return false }
        }
        output[index] = byte
    }
    output[10] = UInt8(ascii: "T")
    output[19] = UInt8(ascii: ".")
    var index = 19
    var digits = 0
    if bytes[index] == UInt8(ascii: ".") {
        index += 1
        while index < count, bytes[index] &- UInt8(ascii: "0") < 10 {
            if digits < 6 {
                output[20 + digits] = bytes[index]
                digits += 1
            }
            index += 1
        }
        guard digits > 0 else { return false }
    }
    // The zone: Z, or an offset ±HH:MM or ±HHMM.
    var offsetMinutes: Int64 = 0
    switch count - index {
    case 1:
        guard bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") else { return false }
    case 5, 6:
        let sign = bytes[index]
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return false }
        let colon = count - index == 6
        if colon { guard bytes[index + 3] == UInt8(ascii: ":") else { return false } }
        guard let hours = twoDigits(bytes, at: index + 1), let minutes = twoDigits(bytes, at: index + (colon ? 4 : 3)),
              hours < 24, minutes < 60 else { return false }
        offsetMinutes = (hours * 60 + minutes) * (sign == UInt8(ascii: "-") ? -1 : 1)
    default:
        return false
    }
    while digits < 6 {
        output[20 + digits] = UInt8(ascii: "0")
        digits += 1
    }
    output[26] = UInt8(ascii: "Z")
    return offsetMinutes == 0 || shiftToUTC(output, byMinutes: offsetMinutes)
}

/// The number written as two ASCII digits at `index`, or nil.
private func twoDigits(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int64? {
    let tens = bytes[index] &- UInt8(ascii: "0"), ones = bytes[index + 1] &- UInt8(ascii: "0")
    guard tens < 10, ones < 10 else { return nil }
    return Int64(tens) * 10 + Int64(ones)
}

/// Rewrites the date and time digits of a normalised timestamp in `output`, which was
/// written in a zone `offsetMinutes` east of UTC, as the same instant in UTC; false when
/// that instant falls outside years 0–9999.
private func shiftToUTC(_ output: UnsafeMutableRawBufferPointer, byMinutes offsetMinutes: Int64) -> Bool {
    func number(_ offset: Int, _ width: Int) -> Int64 {
        (offset ..< offset + width).reduce(0) { $0 * 10 + Int64(output[$1] - UInt8(ascii: "0")) }
    }
    let days = daysFromCivil(year: number(0, 4), month: number(5, 2), day: number(8, 2))
    let seconds = days * 86_400 + number(11, 2) * 3600 + number(14, 2) * 60 + number(17, 2) - offsetMinutes * 60
    let t = civilTime(secondsSince1970: seconds)
    guard (0 ... 9999).contains(t.year) else { return false }
    writeDigits(t.year, width: 4, at: 0, into: output)
    writeDigits(t.month, width: 2, at: 5, into: output)
    writeDigits(t.day, width: 2, at: 8, into: output)
    writeDigits(t.hour, width: 2, at: 11, into: output)
    writeDigits(t.minute, width: 2, at: 14, into: output)
    writeDigits(t.second, width: 2, at: 17, into: output)
    return true
}

/// Writes `value` as `width` decimal digits (zero-padded) at `offset`.
private func writeDigits(_ value: Int64, width: Int, at offset: Int, into buffer: UnsafeMutableRawBufferPointer) {
    var value = value
    for position in stride(from: offset + width - 1, through: offset, by: -1) {
        buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
        value /= 10
    }
}

/// The current time as the database stores timestamps.
public func currentTimestamp() -> String {
    formatTimestamp(secondsSince1970: wallClockSeconds())
}

/// Seconds since 1970 with microseconds, from the system clock.
package func wallClockSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Formats seconds since 1970 as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC). Instants before
/// year 0 or after year 9999 become `0000-01-01T00:00:00.000000Z` or
/// `9999-12-31T23:59:59.999999Z`, so text order stays time order. Digits are written straight
/// into the result's bytes (the ingest writer formats one timestamp per stored analysis).
public func formatTimestamp(secondsSince1970: Double) -> String {
    // 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z, in seconds since 1970.
    let earliest = -62_167_219_200.0, end = 253_402_300_800.0
    guard secondsSince1970 >= earliest else { return "0000-01-01T00:00:00.000000Z" }
    guard secondsSince1970 < end else { return "9999-12-31T23:59:59.999999Z" }
    let whole = Int64(secondsSince1970.rounded(.down))
    let micros = Int64(((secondsSince1970 - Double(whole)) * 1e6).rounded(.down))
    let t = civilTime(secondsSince1970: whole)
    return String(unsafeUninitializedCapacity: normalizedTimestampLength) { buffer in
        // The separators come from the layout; the digits are filled in.
        _ = buffer.initialize(from: UnsafeBufferPointer(start: timestampLayout.utf8Start, count: normalizedTimestampLength))
        func put(_ value: Int64, width: Int, at offset: Int) {
            writeDigits(value, width: width, at: offset, into: UnsafeMutableRawBufferPointer(buffer))
        }
        put(t.year, width: 4, at: 0)
        put(t.month, width: 2, at: 5)
        put(t.day, width: 2, at: 8)
        put(t.hour, width: 2, at: 11)
        put(t.minute, width: 2, at: 14)
        put(t.second, width: 2, at: 17)
        put(micros, width: 6, at: 20)
        return normalizedTimestampLength
    }
}

/// The UTC calendar date and time of `seconds` since 1970 (Howard Hinnant's civil-from-days).
public func civilTime(secondsSince1970 seconds: Int64)
    -> (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64) {
    var days = seconds / 86_400
    var secondsOfDay = seconds % 86_400
    if secondsOfDay < 0 { secondsOfDay += 86_400; days -= 1 }
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    return (year, month, day, secondsOfDay / 3600, secondsOfDay / 60 % 60, secondsOfDay % 60)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days-from-civil,
/// the inverse of ``civilTime(secondsSince1970:)``).
public func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
