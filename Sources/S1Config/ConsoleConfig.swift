import S1Common

/// One console of a consoles file (`s1ingest sync --consoles FILE`): a `[consoles.NAME]` table.
///
/// Holds where the token is, never the token itself: ``ConsolesFile/token(for:)`` reads it
/// when the console is about to be used.
public struct ConsoleConfig: Sendable, Equatable {
    /// The console's name (`east` of `[consoles.east]`), matching `^[a-z0-9][a-z0-9_-]{0,62}$`:
    /// the value stored in the database's `console` columns and typed on the command line.
    public var name: String
    /// The console's URL as written (`https://east.sentinelone.net`): http:// or https:// with a host.
    public var url: String
    /// The absolute path of the file holding the API token. A relative `token_file` is
    /// resolved against the directory of the consoles file.
    public var tokenFile: String
    /// The site IDs to sync (`sites`); empty when the file leaves `sites` out (all sites).
    public var sites: [String]
    /// Requests in flight at once for this console (`concurrency`, 1–64), if the file sets it.
    public var concurrency: Int?
    /// Requests per second for this console (`rate`, above 0 and at most 10000), if the file sets it.
    public var rate: Double?
    /// The line of the console's `[consoles.NAME]` header (or, written another way, of its first key).
    public var line: Int

    /// A console as the file would describe it; no check is made (``ConsolesFile/parse(_:path:)`` checks).
    public init(name: String, url: String, tokenFile: String, sites: [String] = [], concurrency: Int? = nil, rate: Double? = nil, line: Int) {
        self.name = name
        self.url = url
        self.tokenFile = tokenFile
        self.sites = sites
        self.concurrency = concurrency
        self.rate = rate
        self.line = line
    }
}

/// A consoles file, a console of it or its token file that cannot be used, with where and why:
/// `consoles.toml:7: consoles.east.rate: must be a number above 0`.
///
/// No message holds a token: a token file's content is never quoted, nor is a value of the
/// consoles file that could be one.
public struct ConsolesFileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file the problem is in: the consoles file, or a console's token file.
    public var path: String
    /// The line in the consoles file, when the problem has one.
    public var line: Int?
    /// The TOML key the problem is about (`consoles.east.rate`), when it is about one.
    public var field: String?
    /// What is wrong, and what to do about it.
    public var message: String

    /// An error about `path` (at `line`, about `field` when known).
    public init(path: String, line: Int? = nil, field: String? = nil, message: String) {
        self.path = path
        self.line = line
        self.field = field
        self.message = message
    }

    /// `path:line: field: message`, leaving out the parts that are missing; control characters
    /// (from a file name or a key) are shown escaped.
    public var description: String {
        var parts: [String] = []
        var location = path
        if let line { location += ":\(line)" }
        if !location.isEmpty { parts.append(location) }
        if let field { parts.append(field) }
        parts.append(message)
        return terminalSafe(parts.joined(separator: ": "))
    }
}
