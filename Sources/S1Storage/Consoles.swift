/// A console as a run names it: the name every table's `console` column holds, and its URL.
public struct ConsoleRef: Sendable, Equatable, Hashable {
    /// The name (`[consoles.NAME]` of the consoles file, `default`, or made from the URL's host).
    public var name: String
    /// The base URL; nil for data that came from files.
    public var url: String?

    public init(name: String, url: String?) {
        self.name = name
        self.url = url
    }

    /// The console of a single-console database, and of imported files.
    public static let defaultName = "default"

    /// A name for `url` when none is given and `default` is taken by another console: its host
    /// (and port), lower case, with `.` and `:` made `-` (`acme.sentinelone.net` →
    /// `acme-sentinelone-net`).
    public static func name(forURL url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var name = ""
        for character in host.lowercased() {
            if character.isASCII && (character.isLetter || character.isNumber) { name.append(character) }
            else if !name.hasSuffix("-") && !name.isEmpty { name.append("-") }
        }
        while name.hasSuffix("-") { name.removeLast() }
        return name.isEmpty ? "console" : String(name.prefix(63))
    }
}

/// One row of `consoles`.
public struct ConsoleRecord: Sendable, Equatable {
    public var name: String
    public var url: String?
    public var firstSeenAt: String
    public var lastSeenAt: String

    public init(name: String, url: String?, firstSeenAt: String, lastSeenAt: String) {
        self.name = name
        self.url = url
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
    }
}

/// An analysis that was not written because its threat or agent belongs to another console.
public struct StoreConflict: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case threat, agent }
    public var kind: Kind
    /// The threat or agent ID.
    public var id: String
    /// The console it is stored for.
    public var storedConsole: String
    /// The console this analysis came from.
    public var incomingConsole: String

    public init(kind: Kind, id: String, storedConsole: String, incomingConsole: String) {
        self.kind = kind
        self.id = id
        self.storedConsole = storedConsole
        self.incomingConsole = incomingConsole
    }

    /// The rule every backend's writer applies before storing an analysis: a threat or agent ID
    /// belongs to one console, so another console's analysis of it is refused. `storedConsole`:
    /// the console the threat is stored for (nil: not stored); `agentConsole` looks up the
    /// agent's (nil: not stored), and is asked only when the threat passes.
    public static func find(threatId: String, storedConsole: String?, agentId: String?, incomingConsole: String,
                            agentConsole: (String) throws -> String?) rethrows -> StoreConflict? {
        if let storedConsole, storedConsole != incomingConsole {
            return StoreConflict(kind: .threat, id: threatId, storedConsole: storedConsole, incomingConsole: incomingConsole)
        }
        if let agentId, let owner = try agentConsole(agentId), owner != incomingConsole {
            return StoreConflict(kind: .agent, id: agentId, storedConsole: owner, incomingConsole: incomingConsole)
        }
        return nil
    }

    public var description: String {
        "\(kind.rawValue) \(id) is stored for console '\(storedConsole)'; this analysis came from console '\(incomingConsole)' "
            + "and was not written (a threat or agent ID belongs to one console)"
    }
}

/// Why a console could not be named in the store.
public enum ConsoleStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The URL is stored under another name than the one given.
    case urlHasAnotherName(url: String, stored: String, given: String)
    /// The name is stored with another URL.
    case nameHasAnotherURL(name: String, stored: String, given: String)
    /// `--console` named no console of the store.
    case unknown(given: String, known: [String])
    /// The store holds several consoles and the command needs to know which.
    case required(command: String, known: [String])

    public var description: String {
        switch self {
        case .urlHasAnotherName(let url, let stored, let given):
            return "the database holds \(url) as console '\(stored)', not '\(given)': name it '\(stored)' in the consoles file, or use another --db"
        case .nameHasAnotherURL(let name, let stored, let given):
            return "the database holds console '\(name)' at \(stored), not \(given): give this console another name, or use another --db"
        case .unknown(let given, let known):
            return "no console '\(given)' in the database; it holds " + Self.list(known)
        case .required(let command, let known):
            return "the database holds several consoles (" + Self.list(known) + "): say which with `\(command) --console NAME`"
        }
    }

    private static func list(_ names: [String]) -> String {
        names.isEmpty ? "none" : names.map { "'\($0)'" }.joined(separator: ", ")
    }
}

/// Names consoles in the store (the `consoles` table).
public protocol ConsoleRegistry: AnyObject {
    /// Records that a run uses a console and returns the name its rows get:
    /// - a name and a URL (the consoles file): that name; a URL stored as `default` (a
    ///   single-console database growing into several) is renamed to it, everywhere;
    /// - only a URL (`--console URL`): the name it is stored under; for a new URL `default`
    ///   while no other console is stored, else a name made of its host;
    /// - only a name (`import --console NAME`): that name; neither: `default`.
    /// Throws `ConsoleStoreError` when the name and URL contradict what is stored.
    func registerConsole(name: String?, url: String?) throws -> ConsoleRef
}

/// The naming rules of `ConsoleRegistry.registerConsole`, the same for every backend: what a
/// run's console is called, given what the store holds. The backend does the SQL: it renames
/// `rename.from`'s rows to `rename.to` when asked, then records `console`.
public enum ConsoleNaming {
    /// The tables whose rows carry a console name, renamed together.
    public static let namedTables = ["threats", "agents", "ingest_queue", "ingest_runs", "sync_state"]

    /// The console a run with `name` and `url` gets among `known`; `rename` when a URL stored
    /// as `default` takes the consoles file's name. Throws `ConsoleStoreError`.
    public static func resolve(name: String?, url: String?, known: [ConsoleRecord]) throws -> (console: ConsoleRef, rename: (from: String, to: String)?) {
        guard let url else { return (ConsoleRef(name: name ?? ConsoleRef.defaultName, url: nil), nil) }
        let byURL = known.first { $0.url == url }
        if let name {
            if let byURL, byURL.name != name {
                // A single-console database (`default`) grows into several: its console gets the file's name.
                guard byURL.name == ConsoleRef.defaultName, !known.contains(where: { $0.name == name }) else {
                    throw ConsoleStoreError.urlHasAnotherName(url: url, stored: byURL.name, given: name)
                }
                return (ConsoleRef(name: name, url: url), (byURL.name, name))
            }
            if let byName = known.first(where: { $0.name == name }), let stored = byName.url, stored != url {
                throw ConsoleStoreError.nameHasAnotherURL(name: name, stored: stored, given: url)
            }
            return (ConsoleRef(name: name, url: url), nil)
        }
        if let byURL { return (ConsoleRef(name: byURL.name, url: url), nil) }
        if known.allSatisfy({ $0.name == ConsoleRef.defaultName && $0.url == nil }) {
            return (ConsoleRef(name: ConsoleRef.defaultName, url: url), nil)
        }
        var candidate = ConsoleRef.name(forURL: url)
        var suffix = 2
        while known.contains(where: { $0.name == candidate }) {
            candidate = ConsoleRef.name(forURL: url) + "-\(suffix)"
            suffix += 1
        }
        return (ConsoleRef(name: candidate, url: url), nil)
    }
}
