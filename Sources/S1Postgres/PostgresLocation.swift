import Foundation
import S1Common

/// How the connection is encrypted (`?sslmode=`), as libpq reads it.
public enum PostgresSSLMode: String, Sendable, CaseIterable {
    /// Plain TCP.
    case disable
    /// TLS when the server offers it, without checking its certificate (libpq's default).
    case prefer
    /// TLS or no connection, without checking the certificate.
    case require
    /// TLS, the certificate signed by a trusted CA (`sslrootcert`, else the system's), any host name.
    case verifyCA = "verify-ca"
    /// TLS, the certificate signed by a trusted CA and naming the host.
    case verifyFull = "verify-full"
}

/// A `--db postgresql://user@host:port/dbname?sslmode=...` value, parsed. It never holds a
/// password: that comes from `PGPASSWORD` or the password file when connecting.
public struct PostgresLocation: Sendable, Equatable {
    public var user: String
    /// A host name or address; for a Unix socket, the socket's directory (`?host=/dir`).
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: PostgresSSLMode
    /// `?sslrootcert=FILE` (else `PGSSLROOTCERT`): the CA certificates (PEM) that `verify-ca`
    /// and `verify-full` trust; nil (or `system`): the system's CAs.
    public var sslRootCert: String?
    /// `~/.postgresql/root.crt` when no `sslrootcert` was given and that file exists: libpq's
    /// default CA file.
    public var homeRootCert: String?

    /// The CA file the server's certificate is checked against; nil: the system's CAs.
    public var trustedRootCert: String? { sslRootCert ?? homeRootCert }

    /// How the server's certificate is checked: `sslMode`, except that `require` with a CA file
    /// (given, or `~/.postgresql/root.crt`) checks it as `verify-ca` does, as libpq does.
    public var verification: PostgresSSLMode {
        sslMode == .require && trustedRootCert != nil ? .verifyCA : sslMode
    }

    /// True when `value` names PostgreSQL (`postgresql://` or `postgres://`), not a SQLite path.
    public static func isPostgresURL(_ value: String) -> Bool {
        let lower = value.lowercased()
        return lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://")
    }

    /// Parses a `postgresql://` URL. A password in it is refused (and never repeated).
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(PostgresStoreError) {
        guard Self.isPostgresURL(text), let schemeEnd = text.range(of: "://") else {
            throw .invalidURL(shown: "", reason: "it must start with postgresql:// or postgres://")
        }
        var rest = String(text[schemeEnd.upperBound...])
        var query = ""
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = String(rest[..<mark])
        }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[rest.index(after: slash)...])
            rest = String(rest[..<slash])
        }
        var authority = rest
        var user: String?
        if let at = authority.lastIndex(of: "@") {
            let userInfo = String(authority[..<at])
            authority = String(authority[authority.index(after: at)...])
            if userInfo.contains(":") {
                throw .passwordInURL(shown: Self.redacted(text))
            }
            user = userInfo.removingPercentEncoding ?? userInfo
        }
        var host = authority
        var port: Int?
        if authority.hasPrefix("[") , let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex) ..< close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) ?? -1 }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = Int(authority[authority.index(after: colon)...]) ?? -1
        }
        host = host.removingPercentEncoding ?? host
        // As libpq: PGSSLMODE and PGSSLROOTCERT unless the URL says otherwise.
        var sslMode = PostgresSSLMode.prefer
        var sslRootCert: String? = environment["PGSSLROOTCERT"].flatMap { $0.isEmpty ? nil : $0 }
        if let mode = environment["PGSSLMODE"], !mode.isEmpty {
            guard let parsed = mode == "allow" ? .prefer : PostgresSSLMode(rawValue: mode) else {
                throw .invalidURL(shown: Self.redacted(text),
                                  reason: "PGSSLMODE '\(mode)' is not one of \(PostgresSSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sslMode = parsed
        }
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            let key = parts[0], value = parts.count > 1 ? parts[1] : ""
            switch key {
            case "sslmode":
                if value == "allow" {
                    sslMode = .prefer
                } else if let mode = PostgresSSLMode(rawValue: value) {
                    sslMode = mode
                } else {
                    throw .invalidURL(shown: Self.redacted(text),
                                      reason: "sslmode '\(value)' is not one of \(PostgresSSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            case "sslrootcert": sslRootCert = value
            case "host": host = value
            case "port": port = Int(value) ?? -1
            case "user": user = value
            case "dbname": path = value
            case "password":
                throw .passwordInURL(shown: Self.redacted(text))
            case "application_name", "connect_timeout": break
            default:
                throw .invalidURL(shown: Self.redacted(text), reason: "unknown parameter '\(key)' (known: sslmode, sslrootcert, host, port, user, dbname)")
            }
        }
        if let port, !(1 ... 65535).contains(port) {
            throw .invalidURL(shown: Self.redacted(text), reason: "the port must be a number from 1 to 65535")
        }
        self.user = user.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGUSER"] ?? Self.osUserName()
        self.host = host.isEmpty ? (environment["PGHOST"] ?? "localhost") : host
        self.port = port ?? environment["PGPORT"].flatMap { Int($0) } ?? 5432
        let database = path.removingPercentEncoding ?? path
        self.database = database.isEmpty ? (environment["PGDATABASE"] ?? self.user) : database
        self.sslMode = sslMode
        // `system`: the system's CAs (libpq 16's spelling), as when no file is given.
        self.sslRootCert = sslRootCert == "system" ? nil : sslRootCert
        if sslRootCert == nil, let home = environment["HOME"], !home.isEmpty,
           FileManager.default.fileExists(atPath: home + "/.postgresql/root.crt") {
            homeRootCert = home + "/.postgresql/root.crt"
        }
    }

    /// The location as it may be shown and recorded: no password (there is none to show).
    public var shown: String {
        var text = "postgresql://\(Self.encode(user))@"
        text += isUnixSocket ? "" : (host.contains(":") ? "[\(host)]" : Self.encode(host))
        text += ":\(port)/\(Self.encode(database))"
        var parameters: [String] = []
        if isUnixSocket { parameters.append("host=\(Self.encode(host))") }
        if sslMode != .prefer { parameters.append("sslmode=\(sslMode.rawValue)") }
        if let sslRootCert { parameters.append("sslrootcert=\(Self.encode(sslRootCert))") }
        return parameters.isEmpty ? text : text + "?" + parameters.joined(separator: "&")
    }

    /// True when `host` is a socket directory.
    public var isUnixSocket: Bool { host.hasPrefix("/") }

    /// The socket file in `host` for `port`.
    public var unixSocketPath: String { "\(host)/.s.PGSQL.\(port)" }

    /// `text` with anything between `//` and `@` replaced, for messages about a URL that holds a password.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return "postgresql://..." }
        let after = text[schemeEnd.upperBound...]
        let authorityEnd = after.firstIndex { $0 == "/" || $0 == "?" } ?? after.endIndex
        let authority = after[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else {
            return String(text.prefix(upTo: text.firstIndex(of: "?") ?? text.endIndex))
        }
        let userPart = authority[..<at].split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        return String(text[..<schemeEnd.upperBound]) + userPart + ":***" + String(after[at...].prefix { $0 != "?" })
    }

    private static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    private static func osUserName() -> String {
        if let name = ProcessInfo.processInfo.environment["USER"], !name.isEmpty { return name }
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "postgres"
    }
}

/// The password for a connection: `PGPASSWORD`, else the first matching line of the password
/// file (`PGPASSFILE`, else `~/.pgpass`), as libpq finds it.
public enum PostgresPassword {
    /// What to warn about, e.g. a password file others can read (it is then ignored).
    public typealias Warn = @Sendable (String) -> Void

    public static let standardErrorWarning: Warn = { message in
        FileHandle.standardError.write(Data("s1ingest: warning: \(message)\n".utf8))
    }

    public static func lookup(for location: PostgresLocation, environment: [String: String] = ProcessInfo.processInfo.environment,
                              warn: Warn = standardErrorWarning) -> String? {
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let path: String
        if let file = environment["PGPASSFILE"], !file.isEmpty {
            path = file
        } else if let home = environment["HOME"], !home.isEmpty {
            path = home + "/.pgpass"
        } else {
            return nil
        }
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            warn("password file \(path) is not a plain file: ignored")
            return nil
        }
        if info.st_mode & 0o077 != 0 {
            warn("password file \(path) has group or world access: ignored (make it private: chmod 0600 \(path))")
            return nil
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let host = location.isUnixSocket ? "localhost" : location.host
        return passwordFileMatch(text, host: host, port: location.port, database: location.database, user: location.user)
    }

    /// The password of the first line of a password file's `text` that matches (`*` matches
    /// anything; `\:` and `\\` are a colon and a backslash).
    public static func passwordFileMatch(_ text: String, host: String, port: Int, database: String, user: String) -> String? {
        let wanted = [host, String(port), database, user]
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            if line.hasPrefix("#") { continue }
            var fields: [String] = [""]
            var escaped = false
            for character in line {
                if escaped {
                    fields[fields.count - 1].append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == ":" && fields.count < 5 {
                    fields.append("")
                } else {
                    fields[fields.count - 1].append(character)
                }
            }
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}
