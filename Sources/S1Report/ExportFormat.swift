import S1Storage
import S1Common
import S1JSON
import S1Model
/// How rows are written.
///
/// - `csv`: RFC 4180. Fields separated by `,`, records end with CRLF (also the header). A field
///   is quoted when it holds `,` `"` CR or LF, with `"` doubled; embedded line breaks are kept
///   inside the quotes. NULL is an empty field; an empty string is `""`, so the two differ.
/// - `tsv`: tab-separated, records end with LF. Backslash, tab, LF and CR inside a value are
///   written `\\` `\t` `\n` `\r`. NULL and the empty string are both an empty field.
/// - `jsonl`: one JSON object per line, keys in column order; integers and reals as numbers,
///   text as strings, NULL as `null`.
/// - `json`: the same objects in one JSON array.
///
/// All formats are UTF-8 with a header (csv, tsv) of column names; timestamps are the
/// ISO-8601 UTC text stored in the database; BLOBs are lower-case hex.
public enum ExportFormat: String, CaseIterable, Sendable {
    case csv
    case tsv
    case jsonl
    case json

    /// The file name extension for `--all`.
    public var fileExtension: String { rawValue }
}

/// Choices that apply to every format.
public struct ExportOptions: Sendable {
    public var format: ExportFormat
    /// Prefix `'` to a text cell starting with `=` `+` `-` `@`, tab or CR, so a spreadsheet
    /// shows it instead of evaluating it (csv and tsv only; numbers are never changed).
    public var neutraliseFormulas: Bool
    /// Write the header row (csv and tsv).
    public var header: Bool

    public init(format: ExportFormat = .csv, neutraliseFormulas: Bool = true, header: Bool = true) {
        self.format = format
        self.neutraliseFormulas = neutraliseFormulas
        self.header = header
    }
}
