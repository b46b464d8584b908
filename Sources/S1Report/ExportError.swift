import S1Storage
import S1Common
import S1JSON
import S1Model
/// Why export output could not be written.
public enum ExportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The output file (or `--all` directory) could not be created.
    case cannotCreate(path: String, reason: String)
    /// Writing failed part-way (disk full, closed pipe, ...).
    case writeFailed(path: String, reason: String)
    /// `--all` needs a directory to put one file per table and view in.
    case directoryRequired
    /// A console was given with `--query`: the statement says which rows it wants.
    case consoleWithQuery

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason):
            return "cannot create \(path): \(reason)"
        case .writeFailed(let path, let reason):
            return "writing \(path) failed: \(reason)"
        case .directoryRequired:
            return "--all needs --dir DIR: one file per table and view is written there"
        case .consoleWithQuery:
            return "--console goes with --table, --view or --all; with --query, say which console in the statement (WHERE console = '...')"
        }
    }
}
