import Foundation
import S1Common
import TOMLKit

/// The consoles file of `s1ingest sync --consoles FILE`: one TOML table per console.
///
/// ```toml
/// [consoles.east]                    # the name used in the database and on the command line
/// url = "https://east.sentinelone.net"
/// token_file = "/etc/s1ingest/east.token"
/// sites = ["1286405255257023125"]    # optional
/// concurrency = 8                    # optional
/// rate = 20                          # optional, requests/s
/// ```
///
/// Every problem is an error with the file, the line and the key (``ConsolesFileError``): a
/// TOML syntax error, a top-level key other than `consoles`, a console name that is not
/// `^[a-z0-9][a-z0-9_-]{0,62}$`, an unknown key, a value of the wrong type or out of range, a
/// file without consoles, two consoles with one URL. No value that could be a secret is quoted
/// in a message (a URL is shown only as `scheme://host:port`, and only once it is known to hold
/// no credentials or query), so a token pasted in the wrong place is not printed.
public enum ConsolesFile {
    /// The keys a console may have.
    public static let allowedKeys = ["url", "token_file", "sites", "concurrency", "rate"]
    /// A consoles file larger than this is refused unread (it is a few lines per console).
    public static let maxFileBytes = 1 << 20

    /// Reads and checks the consoles file at `path`; the consoles in file order.
    public static func read(path: String) throws(ConsolesFileError) -> [ConsoleConfig] {
        let bytes: [UInt8]
        do {
            bytes = try PrivateFile.readAll(path: path, maxBytes: maxFileBytes)
        } catch {
            switch error {
            case .tooLarge: throw ConsolesFileError(path: path, message: "is larger than \(maxFileBytes / 1024) KiB: not a consoles file")
            case .notRegular: throw ConsolesFileError(path: path, message: "cannot read the consoles file: not a regular file")
            case .system(let reason): throw ConsolesFileError(path: path, message: "cannot read the consoles file: \(reason)")
            case .openToOthers: throw ConsolesFileError(path: path, message: "cannot read the consoles file")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConsolesFileError(path: path, line: firstInvalidUTF8Line(bytes), message: "is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// Checks the consoles file `text`, read from `path` (for messages, and to resolve a
    /// relative `token_file` against its directory); the consoles in file order.
    public static func parse(_ text: String, path: String) throws(ConsolesFileError) -> [ConsoleConfig] {
        func fail(_ line: Int?, _ field: String?, _ message: String) -> ConsolesFileError {
            ConsolesFileError(path: path, line: line, field: field, message: message)
        }
        // TOMLKit hands the text to toml++ as a C string: a NUL would end the document there.
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            throw fail(line, nil, "holds a NUL character: not a TOML file")
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw fail(error.source.begin.line, nil, "not valid TOML: \(error.description)")
        } catch {
            throw fail(nil, nil, "not valid TOML: \(error)")
        }
        let index = TOMLLineIndex(text)
        func line(_ path: [String]) -> Int? { index.line(path) }
        /// Keys of `table` under `path`, in file order.
        func inFileOrder(_ keys: [String], under path: [String]) -> [String] {
            let unknown = TOMLLineIndex.Position(line: .max, offset: .max)
            return keys.sorted { (index.position(path + [$0]) ?? unknown, $0) < (index.position(path + [$1]) ?? unknown, $1) }
        }

        for key in inFileOrder(root.keys, under: []) where key != "consoles" {
            throw fail(line([key]), fieldName([key]), "unknown top-level key '\(key)': the file holds only consoles, as [consoles.NAME] tables")
        }
        guard let consolesValue = root["consoles"] else {
            throw fail(nil, nil, "no consoles: add a [consoles.NAME] table with url and token_file for each console")
        }
        guard let consolesTable = consolesValue.table else {
            throw fail(line(["consoles"]), "consoles", "must be a table of consoles, [consoles.NAME] (got \(typeName(consolesValue)))")
        }
        let directory = absoluteDirectory(of: path)
        var consoles: [ConsoleConfig] = []
        for name in inFileOrder(consolesTable.keys, under: ["consoles"]) {
            let consolePath = ["consoles", name]
            let consoleLine = line(consolePath) ?? line(["consoles"]) ?? 1
            guard isValidName(name) else {
                throw fail(consoleLine, fieldName(consolePath), "console name '\(name)' is not allowed: it becomes a value in the database and on the command line, so it must match ^[a-z0-9][a-z0-9_-]{0,62}$ (1 to 63 lower-case letters, digits, '_' or '-', starting with a letter or digit)")
            }
            guard let value = consolesTable[name], let table = value.table else {
                let type = consolesTable[name].map(typeName) ?? "nothing"
                throw fail(consoleLine, fieldName(consolePath), "must be a table, [consoles.\(name)] with url and token_file (got \(type))")
            }
            var url: String?
            var tokenFile: String?
            var console = ConsoleConfig(name: name, url: "", tokenFile: "", line: consoleLine)
            for key in inFileOrder(table.keys, under: consolePath) {
                let keyPath = consolePath + [key]
                let field = fieldName(keyPath)
                let keyLine = line(keyPath) ?? consoleLine
                let value = table[key]!
                switch key {
                case "url":
                    guard let text = value.string else { throw fail(keyLine, field, "must be a string (got \(typeName(value)))") }
                    if let problem = urlProblem(text) { throw fail(keyLine, field, problem) }
                    url = text
                case "token_file":
                    guard let text = value.string else { throw fail(keyLine, field, "must be a string (got \(typeName(value)))") }
                    guard !text.isEmpty else { throw fail(keyLine, field, "must not be empty: the path of the file holding the console's API token") }
                    if text == "~" || text.hasPrefix("~/") {
                        throw fail(keyLine, field, "'~' is not expanded here: write the absolute path, or a path relative to the consoles file's directory")
                    }
                    tokenFile = resolve(text, against: directory)
                case "sites":
                    guard let array = value.array else { throw fail(keyLine, field, "must be an array of site IDs, e.g. [\"1286405255257023125\"] (got \(typeName(value)))") }
                    guard !array.isEmpty else { throw fail(keyLine, field, "must list at least one site ID (leave sites out to sync every site)") }
                    var sites: [String] = []
                    for (position, element) in array.enumerated() {
                        let elementField = "\(field)[\(position)]"
                        let elementLine = line(keyPath + [TOMLLineIndex.elementComponent(position)]) ?? keyLine
                        guard let site = element.string else {
                            throw fail(elementLine, elementField, "must be a site ID in quotes, a string of 1 to 20 digits (got \(typeName(element)))")
                        }
                        guard (1...20).contains(site.utf8.count), site.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                            throw fail(elementLine, elementField, "must be a site ID: a string of 1 to 20 digits")
                        }
                        guard !sites.contains(site) else {
                            throw fail(elementLine, elementField, "site \(site) is listed twice")
                        }
                        sites.append(site)
                    }
                    console.sites = sites
                case "concurrency":
                    guard let number = value.int else { throw fail(keyLine, field, "must be an integer (got \(typeName(value)))") }
                    guard (1...64).contains(number) else { throw fail(keyLine, field, "must be between 1 and 64 (requests in flight at once)") }
                    console.concurrency = number
                case "rate":
                    guard let number = value.double ?? value.int.map(Double.init) else {
                        throw fail(keyLine, field, "must be a number (got \(typeName(value)))")
                    }
                    guard number > 0 else { throw fail(keyLine, field, "must be a number above 0") }
                    guard number <= 10_000 else { throw fail(keyLine, field, "must be at most 10000 (requests per second)") }
                    console.rate = number
                default:
                    throw fail(keyLine, field, "unknown key '\(key)' (allowed: \(allowedKeys.joined(separator: ", ")))")
                }
            }
            guard let url else {
                throw fail(consoleLine, fieldName(consolePath + ["url"]), "missing required key 'url', the console's address, e.g. url = \"https://\(name).sentinelone.net\"")
            }
            guard let tokenFile else {
                throw fail(consoleLine, fieldName(consolePath + ["token_file"]), "missing required key 'token_file', the file holding the console's API token (chmod 600)")
            }
            console.url = url
            console.tokenFile = tokenFile
            consoles.append(console)
        }
        guard !consoles.isEmpty else {
            throw fail(line(["consoles"]), "consoles", "no consoles: add a [consoles.NAME] table with url and token_file for each console")
        }
        var seen: [URLIdentity: ConsoleConfig] = [:]
        for console in consoles {
            // (Every URL here passed `urlProblem`, so has a scheme and a host.)
            guard let identity = URLIdentity(console.url) else { continue }
            if let first = seen[identity] {
                let keyPath = ["consoles", console.name, "url"]
                throw fail(line(keyPath) ?? console.line, fieldName(keyPath), "consoles '\(first.name)' (line \(first.line)) and '\(console.name)' have the same URL (\(identity)): list each console once")
            }
            seen[identity] = console
        }
        return consoles
    }

    /// `--only NAME...`: those consoles, in file order; unknown names are an error listing the
    /// known ones. No names: every console.
    public static func select(_ consoles: [ConsoleConfig], only: [String]) throws(ConsolesFileError) -> [ConsoleConfig] {
        guard !only.isEmpty else { return consoles }
        let known = Set(consoles.map(\.name))
        let unknown = only.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            let list = unknown.map { "'\($0)'" }.joined(separator: ", ")
            let names = consoles.map(\.name).joined(separator: ", ")
            throw ConsolesFileError(path: "", field: "--only", message: "unknown console\(unknown.count == 1 ? "" : "s") \(list) (the consoles file has: \(names.isEmpty ? "none" : names))")
        }
        let wanted = Set(only)
        return consoles.filter { wanted.contains($0.name) }
    }

    /// Reads the console's token: refuses a token file that group or others can read
    /// (mode & 0o077 != 0) with a message that says `chmod 600 PATH`; a missing, unreadable or
    /// empty file is an error naming it. Trims whitespace and line breaks. Never puts the token
    /// in any message.
    public static func token(for console: ConsoleConfig) throws(ConsolesFileError) -> String {
        let path = console.tokenFile
        let field = fieldName(["consoles", console.name, "token_file"])
        func fail(_ message: String) -> ConsolesFileError { ConsolesFileError(path: path, field: field, message: message) }
        let bytes: [UInt8]
        do {
            bytes = try PrivateFile.readAll(path: path, maxBytes: maxTokenFileBytes, refusingMode: 0o077)
        } catch {
            switch error {
            case .tooLarge:
                throw fail("is larger than \(maxTokenFileBytes / 1024) KiB: not a token file (it must hold only the API token)")
            case .notRegular:
                throw fail("cannot read the token file: not a regular file")
            case .openToOthers(let mode):
                throw fail("the token file is readable or writable by group or others (mode \(octal(mode))): run chmod 600 \(shellQuoted(path))")
            case .system(let reason):
                throw fail("cannot read the token file: \(reason)")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw fail("the token file is not UTF-8 text") }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw fail("the token file is empty: it must hold the console's API token") }
        guard !token.unicodeScalars.contains(where: { $0.properties.isWhitespace || isTerminalControl($0) }) else {
            throw fail("the token file holds more than one word or a control character: it must hold only the API token")
        }
        return token
    }

    /// A token file larger than this is refused unread.
    public static let maxTokenFileBytes = 64 * 1024

    // MARK: - Checks

    /// `^[a-z0-9][a-z0-9_-]{0,62}$`.
    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func lowerOrDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        return lowerOrDigit(bytes[0]) && bytes.dropFirst().allSatisfy { lowerOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Why `url` cannot be a console's URL, or nil when it can. Never quotes the URL (it might
    /// hold a password).
    static func urlProblem(_ url: String) -> String? {
        let example = "e.g. https://east.sentinelone.net"
        guard !url.unicodeScalars.contains(where: { $0.properties.isWhitespace || isTerminalControl($0) }) else {
            return "must be an http:// or https:// URL without spaces, \(example)"
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.range(of: "://") != nil else {
            return "must be an http:// or https:// URL with a host, \(example)"
        }
        if components.user != nil || components.password != nil {
            return "must not hold credentials (user:password@): the token goes in token_file"
        }
        guard let host = components.host, !host.isEmpty else {
            return "must be an http:// or https:// URL with a host, \(example)"
        }
        if let port = components.port, !(1...65535).contains(port) {
            return "has a port out of range: use 1 to 65535"
        }
        if components.query != nil || components.fragment != nil {
            return "must not have a query or fragment (?... or #...), \(example)"
        }
        return nil
    }

    /// What makes two console URLs the same console: scheme, host (in any case) and port
    /// (a missing port is the scheme's default); a trailing slash or a path does not count.
    struct URLIdentity: Hashable, CustomStringConvertible {
        let scheme: String
        let host: String
        let port: Int

        init?(_ url: String) {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                  var host = components.host?.lowercased(), !host.isEmpty else { return nil }
            if host.hasSuffix(".") { host.removeLast() }
            self.scheme = scheme
            self.host = host
            self.port = components.port ?? (scheme == "https" ? 443 : 80)
        }

        var description: String {
            let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            return "\(scheme)://\(bracketed):\(port)"
        }
    }

    // MARK: - Paths and names

    /// The TOML type of `value` in words, for "must be a string (got integer)".
    static func typeName(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .table: return "table"
        case .array: return "array"
        case .string: return "string"
        case .int: return "integer"
        case .double: return "floating-point number"
        case .bool: return "boolean"
        case .date: return "date"
        case .time: return "time"
        case .dateTime: return "date-time"
        }
    }

    /// `0644`.
    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `path` as typed in a shell: as it is when that is safe, else in single quotes.
    static func shellQuoted(_ path: String) -> String {
        let safe = !path.isEmpty && path.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: ","):
                return true
            default: return false
            }
        }
        return safe ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `consoles.east.url`; a key that is not a bare TOML key is quoted (`consoles."a.b"`).
    static func fieldName(_ path: [String]) -> String {
        path.map { key in
            let bare = !key.isEmpty && key.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): return true
                default: return false
                }
            }
            if bare { return key }
            return "\"" + key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }.joined(separator: ".")
    }

    /// The absolute directory of `path` (a relative one is taken from the working directory).
    static func absoluteDirectory(of path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var components = normalized(absolute)
        components.removeLast()
        return "/" + components.joined(separator: "/")
    }

    /// `path` made absolute against `directory`, with `.` and `..` worked out (as text: no
    /// symbolic link is followed).
    static func resolve(_ path: String, against directory: String) -> String {
        "/" + normalized(path.hasPrefix("/") ? path : directory + "/" + path).joined(separator: "/")
    }

    private static func normalized(_ absolutePath: String) -> [String] {
        var components: [String] = []
        for part in absolutePath.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(String(part))
            }
        }
        return components
    }

    private static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int? {
        var line = 1
        var start = 0
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            if String(validating: bytes[start..<offset], as: UTF8.self) == nil { return line }
            line += 1
            start = offset + 1
        }
        return String(validating: bytes[start...], as: UTF8.self) == nil ? line : nil
    }
}
