import Foundation
import S1IngestCore

/// Every `--json` object s1ingest prints goes through here, so they share one form and one
/// vocabulary (README "JSON output"): snake_case keys in sorted order, `/` not escaped
/// (`http://`, not `http:\/\/`), NULL as `null`, and the same names for the same things in
/// every command: `new` and `replaced` (analyses stored for the first time, or replacing a
/// stored version), `unchanged`, `stale`, `not_found`, `failed`, `elapsed_seconds`, and
/// `s1ingest_version` (the version that did the run).
enum JSONOutput {
    static let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]

    /// The one encoder for `Encodable` summaries (their keys are already snake_case).
    nonisolated(unsafe) private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// An `Encodable` summary as one line of JSON, with `command` and `s1ingest_version`
    /// added as every object has them.
    static func line<T: Encodable>(_ value: T, command: String) -> String {
        guard let data = try? encoder.encode(value),
              var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return "{}" }
        if object["command"] == nil { object["command"] = command }
        object["s1ingest_version"] = S1IngestVersion.current
        return line(object)
    }

    /// An `Encodable` value as one line of JSON, as it is (a run record keeps the version
    /// that did the run).
    static func encoded<T: Encodable>(_ value: T) -> String {
        guard let data = try? encoder.encode(value),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return "{}" }
        return line(object)
    }

    /// `object` as one line of JSON.
    static func line(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: options)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
