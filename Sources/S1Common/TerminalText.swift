/// `text` safe to show on a terminal: control characters (C0 but for nothing, DEL and C1,
/// e.g. ESC, BEL, BS from a threat name or a console's error body) are written as `\xHH`
/// (`\u{HHHH}` for C1), so they cannot move the cursor, recolour or clear the screen. A
/// backslash stays as it is. JSON output does not need this: JSON escapes them itself.
public func terminalSafe(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isTerminalControl) else { return text }
    var result = ""
    result.reserveCapacity(text.utf8.count + 8)
    for scalar in text.unicodeScalars {
        if isTerminalControl(scalar) {
            let hex = String(scalar.value, radix: 16)
            result += scalar.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{" + hex + "}"
        } else {
            result.unicodeScalars.append(scalar)
        }
    }
    return result
}

/// C0 controls, DEL and C1 controls.
@inline(__always)
package func isTerminalControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
}
