import S1JSON

/// One threat analysis found in an input: its `data` object, the body to keep verbatim,
/// and where it came from.
public struct DecodedAnalysis {
    /// `data.threatInfo.threatId`, as text even when sent as a number.
    public let threatId: String
    /// The `data` object.
    public let data: JSONValue
    /// The `{"data": {...}}` body exactly as received (for `raw_analyses.body`).
    public let body: JSONValue
    public let location: DocumentLocation
}

/// A document that could not be used, and why.
public struct DecodeProblem: Error, Sendable, CustomStringConvertible {
    public let location: DocumentLocation
    public let reason: String

    public init(location: DocumentLocation, reason: String) {
        self.location = location
        self.reason = reason
    }

    public var description: String { "\(location): \(reason)" }
}

/// Finds the threat analyses in a document, whatever wrapped them:
/// - a response body `{"data": {...}}`;
/// - a JSON array of bodies (each element on its own);
/// - the Swimlane connector's action output, `[{status_code, response_headers, reason, json_body}]`;
/// - a bare `data` object (`{"threatInfo": ..., "agentRealtimeInfo": ...}`).
/// Decoding is lenient about content and strict only about what makes a document unusable:
/// not JSON, not an object, no `threatInfo.threatId`.
public enum AnalysisDecoder {
    /// Parses `bytes` and returns every analysis in it, with a problem for each part that
    /// could not be used.
    public static func decode(bytes: [UInt8], location: DocumentLocation) -> [Result<DecodedAnalysis, DecodeProblem>] {
        let document: JSONDocument
        do {
            document = try JSONDocument(bytes: bytes)
        } catch {
            var at = location
            at.line += error.line - 1
            let column = error.line == 1 ? "byte \(error.offset + 1)" : "column \(error.column)"
            return [.failure(DecodeProblem(location: at, reason: "not valid JSON: \(error.reason) (\(column) of the document)"))]
        }
        return unwrap(document.root, location: location)
    }

    /// Arrays are opened one level deep: an array inside an array element is not a body.
    static func unwrap(_ value: JSONValue, location: DocumentLocation) -> [Result<DecodedAnalysis, DecodeProblem>] {
        switch value.kind {
        case .array where location.index == nil:
            if value.count == 0 {
                return [.failure(DecodeProblem(location: location, reason: "empty array: no documents"))]
            }
            return value.elements.enumerated().flatMap { offset, element in
                var at = location
                at.index = offset
                return unwrap(element, location: at)
            }
        case .object:
            return [unwrapObject(value, location: location)]
        default:
            return [.failure(DecodeProblem(location: location, reason: "expected a JSON object {\"data\": {...}}, found \(describe(value.kind))"))]
        }
    }

    static func unwrapObject(_ object: JSONValue, location: DocumentLocation) -> Result<DecodedAnalysis, DecodeProblem> {
        func fail(_ reason: String) -> Result<DecodedAnalysis, DecodeProblem> {
            .failure(DecodeProblem(location: location, reason: reason))
        }
        if let data = object["data"] {
            guard data.kind == .object else {
                if let errors = describeErrors(object["errors"]) { return fail("the console answered with errors: \(errors)") }
                return fail("\"data\" is \(describe(data.kind)), expected an object")
            }
            return analysis(data: data, body: object, location: location)
        }
        if let body = object["json_body"] {
            let status = object["status_code"]?.int64
            if let status, status != 200 {
                let reason = object["reason"]?.string.map { " \($0)" } ?? ""
                let errors = describeErrors(body["errors"]).map { ": \($0)" } ?? ""
                return fail("Swimlane output with status_code \(status)\(reason)\(errors)")
            }
            guard body.kind == .object else { return fail("\"json_body\" is \(describe(body.kind)), expected an object") }
            return unwrapObject(body, location: location)
        }
        if object["threatInfo"] != nil {
            return analysis(data: object, body: object, location: location)
        }
        if let errors = describeErrors(object["errors"]) { return fail("the console answered with errors: \(errors)") }
        let keys = object.members.prefix(5).map(\.name).joined(separator: ", ")
        return fail("no \"data\" member: not a threat analysis body (keys: \(keys.isEmpty ? "none" : keys))")
    }

    static func analysis(data: JSONValue, body: JSONValue, location: DocumentLocation) -> Result<DecodedAnalysis, DecodeProblem> {
        guard let threatInfo = data["threatInfo"], threatInfo.kind == .object else {
            return .failure(DecodeProblem(location: location, reason: "no threatInfo object, so no threatInfo.threatId"))
        }
        guard let idValue = threatInfo["threatId"], let threatId = identifierText(idValue) else {
            return .failure(DecodeProblem(location: location, reason: "threatInfo.threatId is missing, null or empty"))
        }
        if let reason = threatIdProblem(threatId) {
            return .failure(DecodeProblem(location: location, reason: "threatInfo.threatId is not a usable ID (\(reason))"))
        }
        return .success(DecodedAnalysis(threatId: threatId, data: data, body: body, location: location))
    }

    /// Why `id` is not a threat ID, by the rule `ingest` applies to its ID list (digits only,
    /// at most `ThreatIDList.maxDigits`), or nil when it is one. A string's escapes are
    /// decoded first, so `"\u0031"` is `1`, and a lone surrogate (`"\ud800"`, decoded as
    /// U+FFFD) is refused rather than allowed to make two IDs one. The ID itself is not
    /// quoted: it may be anything, a token included.
    static func threatIdProblem(_ id: String) -> String? {
        guard id.utf8.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else {
            return "digits only, at most \(ThreatIDList.maxDigits)"
        }
        guard id.utf8.count <= ThreatIDList.maxDigits else {
            return "\(id.utf8.count) digits, at most \(ThreatIDList.maxDigits)"
        }
        return nil
    }

    /// An ID sent as a string or as a JSON number, as text; nil when absent or empty.
    static func identifierText(_ value: JSONValue) -> String? {
        switch value.kind {
        case .string:
            let text = value.string ?? ""
            return text.isEmpty ? nil : text
        case .number:
            return value.rawText
        default:
            return nil
        }
    }

    /// The console's `{"errors": [{code, title, detail}]}` (or `message`) as one line.
    static func describeErrors(_ errors: JSONValue?) -> String? {
        guard let errors, errors.kind == .array, errors.count > 0 else { return nil }
        return errors.elements.map { error in
            let parts = ["code", "title", "detail", "message"].compactMap { key -> String? in
                guard let value = error[key], !value.isNull else { return nil }
                return value.string ?? value.rawText
            }
            return parts.joined(separator: " ")
        }.joined(separator: "; ")
    }

    static func describe(_ kind: JSONDocument.Kind) -> String {
        switch kind {
        case .null: return "null"
        case .true, .false: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
