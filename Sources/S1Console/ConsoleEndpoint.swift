import S1Common
import S1JSON
import S1Model
import Foundation

/// Where the SentinelOne console is and how to talk to it. Validated on creation:
/// `https` is required unless the host is loopback or insecure HTTP was allowed.
/// Printing, debug-printing or dumping one shows the URL and `[redacted]`, never the token.
public struct ConsoleEndpoint: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The console's base URL, without a trailing slash (`https://acme.sentinelone.net`), as
    /// shown and recorded: a token pasted into the URL is redacted here.
    public let baseURL: String
    /// The base URL requests are sent to.
    package let requestBaseURL: String
    /// The API token, sent as `Authorization: ApiToken <token>`. Never printed.
    package let token: String

    /// Checks `url` and keeps it without credentials, query or trailing slash.
    public init(url: String, token: String, allowInsecureHTTP: Bool = false) throws(ConsoleConfigurationError) {
        let trimmed = url.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            throw .invalidURL(Self.redactedURL(trimmed))
        }
        guard scheme == "https" || scheme == "http" else { throw .invalidURL(Self.redactedURL(trimmed)) }
        if components.user != nil || components.password != nil { throw .credentialsInURL }
        if scheme == "http" && !allowInsecureHTTP && !Self.isLoopback(host) { throw .insecureHTTP(host: host) }
        // Plain http is allowed to loopback only: `localhost` is connected to as 127.0.0.1,
        // never looked up, so no resolver can send the request (and the token) elsewhere.
        let connectHost = scheme == "http" && !allowInsecureHTTP && Self.isLocalhostName(host) ? "127.0.0.1" : host
        let cleanToken = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !cleanToken.isEmpty else { throw .missingToken }
        guard !cleanToken.contains(where: { $0.isNewline || $0 == "\0" }) else { throw .malformedToken }
        var clean = URLComponents()
        clean.scheme = scheme
        clean.host = connectHost
        clean.port = components.port
        clean.path = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        self.requestBaseURL = clean.string ?? trimmed
        // (A token of a few characters is no real token, and would blank out half the URL.)
        self.baseURL = cleanToken.count >= 8 ? requestBaseURL.replacingOccurrences(of: cleanToken, with: "[redacted]") : requestBaseURL
        self.token = cleanToken
    }

    public var description: String { "ConsoleEndpoint(\(baseURL), token: [redacted])" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["baseURL": baseURL, "token": "[redacted]"]) }

    /// `GET /web/api/v2.1/private/threats/{id}/analysis`.
    public func analysisURL(threatId: String) -> String {
        "\(requestBaseURL)/web/api/v2.1/private/threats/\(threatId)/analysis"
    }

    /// `GET /web/api/v2.1/threats?...` (the list endpoint).
    public func threatListURL(query: [(String, String)]) -> String {
        var components = URLComponents()
        components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        return "\(requestBaseURL)/web/api/v2.1/threats" + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
    }

    /// `text` with every occurrence of the token (and so of the `Authorization` header value)
    /// replaced by `[redacted]`: apply it to anything the console sent before storing or logging it.
    public func redactingToken(in text: String) -> String {
        text.replacingOccurrences(of: token, with: "[redacted]")
    }

    /// `localhost`, in any case, with or without a trailing dot.
    package static func isLocalhostName(_ host: String) -> Bool {
        let name = host.lowercased()
        return name == "localhost" || name == "localhost."
    }

    /// True for hosts that cannot leave this machine: an IPv4 literal in 127.0.0.0/8 (four
    /// decimal octets, no leading zeros), `::1` (bracketed or not) and `localhost` (any case,
    /// with or without a trailing dot). Names that merely start with `127.` are not loopback.
    package static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "::1" || name == "localhost" || name == "localhost." { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { octet in
            // Leading zeros are refused: some resolvers read them as octal.
            (1...3).contains(octet.utf8.count) && octet.utf8.allSatisfy { (0x30...0x39).contains($0) }
                && (octet == "0" || octet.first != "0") && Int(octet)! <= 255
        }
    }

    /// `url` fit for an error message: any user information (`user:pass@`) and any query or
    /// fragment replaced by `[redacted]`. Works on text that is not a valid URL too.
    package static func redactedURL(_ url: String) -> String {
        var text = url
        if let query = text.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            text = String(text[..<query]) + "?[redacted]"
        }
        let authority = text.range(of: "://")?.upperBound ?? text.startIndex
        // The last '@' anywhere after the scheme: a password may itself hold '/' or '@'.
        if let at = text[authority...].lastIndex(of: "@") {
            text.replaceSubrange(authority..<at, with: "[redacted]")
        }
        return text
    }
}

/// A console setting that cannot work; each message says what to change.
public enum ConsoleConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Not an http(s) URL with a host; the URL is kept with credentials and query redacted.
    case invalidURL(String)
    case credentialsInURL
    case insecureHTTP(host: String)
    case missingToken
    case malformedToken
    case unreadableTokenFile(path: String, reason: String)
    case unreadableCAFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidURL(let url): return "console URL '\(url)' is not an http(s) URL with a host, e.g. https://acme.sentinelone.net"
        case .credentialsInURL: return "the console URL must not contain credentials; pass the token with S1_API_TOKEN or --token-file"
        case .insecureHTTP(let host): return "refusing plain http to \(host): use https, or --allow-insecure-http if you really mean it"
        case .missingToken: return "no API token: set S1_API_TOKEN, or pass --token-file FILE (a file holding only the token)"
        case .malformedToken: return "the API token contains a line break or NUL: the token file must hold only the token"
        case .unreadableTokenFile(let path, let reason): return "cannot read the token file \(path): \(reason)"
        case .unreadableCAFile(let path, let reason): return "cannot use the CA file \(path): \(reason)"
        }
    }
}
