import ArgumentParser
import S1IngestCore

/// A console of the consoles file, ready to connect to.
struct ResolvedConsole {
    var endpoint: ConsoleEndpoint
    /// Its name in the database: `[consoles.NAME]`; nil for a bare `--console URL` (the
    /// database names it, see `ConsoleRegistry`).
    var name: String?
    var sites: [String] = []
    var concurrency: Int?
    var rate: Double?
}

extension ConsoleOptions {
    /// The consoles file: `--consoles FILE`, else `$S1INGEST_CONSOLES`.
    var consolesPath: String? { consolesFile ?? Environment.value("S1INGEST_CONSOLES") }

    /// The consoles of the file (`--only` applied), in its order.
    func fileConsoles(only: [String] = []) throws -> [ConsoleConfig] {
        guard let path = consolesPath else { return [] }
        return try ConsolesFile.select(try ConsolesFile.read(path: path), only: only)
    }

    /// The one console of this run: `--console URL` (token from `--token-file` or
    /// `$S1_API_TOKEN`), `--console NAME` of the consoles file, or the file's only console.
    func resolvedConsole() throws -> ResolvedConsole {
        let given = console ?? Environment.value("S1_CONSOLE_URL")
        if let given, given.contains("://") || consolesPath == nil {
            return ResolvedConsole(endpoint: try endpoint())
        }
        let consoles = try fileConsoles()
        let chosen: ConsoleConfig
        if let given {
            guard let match = consoles.first(where: { $0.name == given }) else {
                throw ConsolesFileError(path: consolesPath ?? "", message: "no console '\(given)' in the file; it names "
                                        + consoles.map { "'\($0.name)'" }.joined(separator: ", "))
            }
            chosen = match
        } else if consoles.count == 1 {
            chosen = consoles[0]
        } else {
            throw ValidationError("the consoles file names several consoles (\(consoles.map(\.name).joined(separator: ", "))): pick one with --console NAME")
        }
        return try Self.resolve(chosen, allowInsecureHTTP: allowInsecureHttp)
    }

    /// A console of the file with its token read (refused when other users may read it).
    static func resolve(_ config: ConsoleConfig, allowInsecureHTTP: Bool) throws -> ResolvedConsole {
        let token = try ConsolesFile.token(for: config)
        return ResolvedConsole(endpoint: try ConsoleEndpoint(url: config.url, token: token, allowInsecureHTTP: allowInsecureHTTP),
                               name: config.name, sites: config.sites, concurrency: config.concurrency, rate: config.rate)
    }

    /// The client settings for `console`: its own concurrency when the file sets one.
    func clientSettings(for console: ResolvedConsole) -> ConsoleClientSettings {
        var settings = clientSettings
        if let concurrency = console.concurrency { settings.concurrency = concurrency }
        return settings
    }
}

/// `--console NAME|URL` for commands that read or fill the database: which console's rows.
struct ConsoleFilterOption: ParsableArguments {
    @Option(name: .customLong("console"), help: ArgumentHelp("Only this console: its name in the database (or in --consoles), or its URL. Needed only when the database holds several.", valueName: "name|url"))
    var console: String?

    @Option(name: .customLong("consoles"), help: ArgumentHelp("The consoles file (TOML), for console names (default: $S1INGEST_CONSOLES).", valueName: "file"))
    var consolesFile: String?

    var consolesPath: String? { consolesFile ?? Environment.value("S1INGEST_CONSOLES") }

    /// The console named by `--console` among `known`; nil when none was given.
    func name(among known: [ConsoleRecord]) throws -> String? {
        guard let given = console else { return nil }
        return try Self.match(given, among: known, file: consolesPath).name
    }

    /// The console a command that works on one needs: `--console`, else the only one stored.
    func required(among known: [ConsoleRecord], command: String) throws -> ConsoleRef {
        if let given = console { return try Self.match(given, among: known, file: consolesPath) }
        switch known.count {
        case 0: return ConsoleRef(name: ConsoleRef.defaultName, url: nil)
        case 1: return ConsoleRef(name: known[0].name, url: known[0].url)
        default: throw ConsoleStoreError.required(command: command, known: known.map(\.name))
        }
    }

    /// `given` (a name or URL) as a console: stored, or named by the consoles file.
    static func match(_ given: String, among known: [ConsoleRecord], file: String?) throws -> ConsoleRef {
        func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }
        if given.contains("://") {
            if let stored = known.first(where: { $0.url.map(trimmed) == trimmed(given) }) { return ConsoleRef(name: stored.name, url: stored.url) }
            if let file, let config = try ConsolesFile.read(path: file).first(where: { trimmed($0.url) == trimmed(given) }) {
                return ConsoleRef(name: config.name, url: config.url)
            }
            throw ConsoleStoreError.unknown(given: given, known: known.map(\.name))
        }
        if let stored = known.first(where: { $0.name == given }) { return ConsoleRef(name: stored.name, url: stored.url) }
        if let file, let config = try ConsolesFile.read(path: file).first(where: { $0.name == given }) {
            return ConsoleRef(name: config.name, url: config.url)
        }
        throw ConsoleStoreError.unknown(given: given, known: known.map(\.name))
    }
}
