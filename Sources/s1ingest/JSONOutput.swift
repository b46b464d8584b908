import Foundation

/// Every `--json` object s1ingest prints goes through here, so they share one form and one
/// vocabulary (README "JSON output"): snake_case keys in sorted order, `/` not escaped
/// (`http://`, not `http:\/\/`), NULL as `null`, and the same names for the same things in
/// every command: `new` and `replaced` (analyses stored for the first time, or replacing a
/// stored version), `unchanged`, `stale`, `not_found`, `failed`, `elapsed_seconds`, and
/// `s1ingest_version` (the version that did the run).
enum JSONOutput {
    static let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]

    /// `object` as one line of JSON.
    static func line(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: options)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
