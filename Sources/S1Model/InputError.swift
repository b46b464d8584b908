import S1JSON
import S1Common
/// Failures to read an input at all (as opposed to a bad document inside it).
public enum InputError: Error, CustomStringConvertible, Sendable {
    /// The file could not be opened.
    case cannotOpen(path: String, reason: String)
    /// Reading failed part-way.
    case readFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open \(path): \(reason)"
        case .readFailed(let path, let reason): return "cannot read \(path): \(reason)"
        }
    }
}
