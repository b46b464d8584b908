import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import S1Common

/// One connection to the server, used synchronously: the store's protocols are synchronous,
/// so each call sends its statements and waits for the answer on the calling thread (never a
/// NIO event loop thread). Statements sent without waiting in between are pipelined.
final class PGConnection: @unchecked Sendable {
    let connection: PostgresConnection
    let location: PostgresLocation
    /// The environment the password came from (for further connections of the same store).
    let environment: [String: String]
    /// True between the writer's BEGIN and its COMMIT or ROLLBACK.
    var inTransaction = false
    /// The server's version number (e.g. 150018).
    let serverVersion: Int

    static let logger = Logger(label: "s1ingest.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    private static let nextID = Atomic<Int>(1)

    /// The oldest server s1ingest works with.
    static let minimumServerVersion = 130000

    private init(connection: PostgresConnection, location: PostgresLocation, environment: [String: String], serverVersion: Int) {
        self.connection = connection
        self.location = location
        self.environment = environment
        self.serverVersion = serverVersion
    }

    deinit {
        if !connection.isClosed { _ = try? connection.close().wait() }
    }

    /// Connects, logs in and checks the server's version.
    static func open(_ location: PostgresLocation, environment: [String: String] = ProcessInfo.processInfo.environment,
                     warn: PostgresPassword.Warn = PostgresPassword.standardErrorWarning) throws -> PGConnection {
        let password = PostgresPassword.lookup(for: location, environment: environment, warn: warn)
        var configuration: PostgresConnection.Configuration
        if location.isUnixSocket {
            configuration = .init(unixSocketPath: location.unixSocketPath, username: location.user, password: password, database: location.database)
        } else {
            configuration = .init(host: location.host, port: location.port, username: location.user, password: password,
                                  database: location.database, tls: try tls(for: location))
        }
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = [("application_name", "s1ingest"), ("TimeZone", "UTC")]
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                        id: id, logger: logger).wait()
        } catch {
            throw mapError(error, location: location, connecting: true)
        }
        do {
            let rows = try connection.query("SELECT current_setting('server_version_num')::int, current_setting('server_version')",
                                            logger: logger).wait().rows.map { Array($0) }
            let number = try rows.first?[0].decode(Int.self) ?? 0
            let version = try rows.first?[1].decode(String.self) ?? "?"
            // S1INGEST_PG_MINIMUM_VERSION raises the floor, so a test can see the refusal on a newer server.
            let minimum = max(minimumServerVersion, environment["S1INGEST_PG_MINIMUM_VERSION"].flatMap { Int($0) } ?? 0)
            guard number >= minimum else {
                _ = try? connection.close().wait()
                throw PostgresStoreError.serverTooOld(location: location.shown, version: version)
            }
            return PGConnection(connection: connection, location: location, environment: environment, serverVersion: number)
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            _ = try? connection.close().wait()
            throw mapError(error, location: location, connecting: true)
        }
    }

    static func tls(for location: PostgresLocation) throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch location.verification {
        case .disable: return .disable
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let rootCert = location.trustedRootCert, location.verification == .verifyCA || location.verification == .verifyFull {
            guard FileManager.default.isReadableFile(atPath: rootCert) else {
                let reason = FileManager.default.fileExists(atPath: rootCert) ? "cannot be read" : "does not exist"
                throw PostgresStoreError.tls(location: location.shown, detail: "the CA file sslrootcert=\(rootCert) \(reason)")
            }
            configuration.trustRoots = .file(rootCert)
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw PostgresStoreError.tls(location: location.shown, detail: "\(error)")
        }
        return location.sslMode == .prefer ? .prefer(context) : .require(context)
    }

    // MARK: Statements

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> [[PostgresCell]] {
        do {
            return try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: Self.logger).wait().rows.map { Array($0) }
        } catch {
            throw Self.mapError(error, location: location, connecting: false)
        }
    }

    /// Sends every statement at once (pipelined) and waits for all; the first error is thrown.
    func pipeline(_ queries: [PostgresQuery]) throws {
        guard !queries.isEmpty else { return }
        let futures = queries.map { connection.query($0, logger: Self.logger) }
        var firstError: (any Error)?
        for future in futures {
            do { _ = try future.wait() } catch { if firstError == nil { firstError = error } }
        }
        if let firstError { throw Self.mapError(firstError, location: location, connecting: false) }
    }

    /// Two statements sent at once; the rows of each.
    func pipelineRows(_ first: PostgresQuery, _ second: PostgresQuery) throws -> ([[PostgresCell]], [[PostgresCell]]) {
        let one = connection.query(first, logger: Self.logger)
        let two = connection.query(second, logger: Self.logger)
        do {
            let a = try one.wait().rows.map { Array($0) }
            let b = try two.wait().rows.map { Array($0) }
            return (a, b)
        } catch {
            _ = try? two.wait()
            throw Self.mapError(error, location: location, connecting: false)
        }
    }

    /// The first cell of the first row.
    func scalar<T: PostgresDecodable>(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), as type: T.Type) throws -> T? {
        guard let cell = try query(sql, binds).first?.first, cell.bytes != nil else { return nil }
        do { return try cell.decode(T.self) } catch { throw PostgresStoreError.server(location: location.shown, detail: "\(error)") }
    }

    func close() {
        _ = try? connection.close().wait()
    }

    // MARK: Errors

    /// What failed in the TLS handshake, in words that say what to fix (NIOSSL's own words
    /// for a failure not recognised); nil when `error` is not a TLS error.
    static func tlsDetail(_ error: any Error, location: PostgresLocation) -> String? {
        guard error is NIOSSLError || error is NIOSSLExtraError else { return nil }
        let text = String(describing: error)
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the server's certificate does not name the host \(location.host) (sslmode=verify-full checks the name: "
                + "connect by a name or address the certificate holds, or use sslmode=verify-ca)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("unableToValidateCertificate") {
            let trusted = location.trustedRootCert.map { "the CA certificates in \(location.sslRootCert == nil ? "" : "sslrootcert=")\($0)" }
                ?? "the system's CAs (give the CA that signed the server's certificate with sslrootcert=FILE)"
            return "the server's certificate is not signed by a trusted CA: \(trusted)"
        }
        return text
    }

    /// An error of postgres-nio as a `PostgresStoreError` that says what to check.
    static func mapError(_ error: any Error, location: PostgresLocation, connecting: Bool) -> PostgresStoreError {
        if let error = error as? PostgresStoreError { return error }
        let shown = location.shown
        if let detail = tlsDetail((error as? PSQLError)?.underlying ?? error, location: location) {
            return .tls(location: shown, detail: detail)
        }
        guard let error = error as? PSQLError else {
            return connecting ? .unreachable(location: shown, detail: "\(error)") : .server(location: shown, detail: "\(error)")
        }
        if let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? "error \(state)"
            switch state {
            case "28P01", "28000": return .authenticationFailed(location: shown, detail: message)
            case "3D000": return .databaseMissing(location: shown, database: location.database)
            default:
                var detail = message
                if let extra = error.serverInfo?[.detail] { detail += " (\(extra))" }
                return .server(location: shown, detail: "\(detail) [\(state)]")
            }
        }
        switch error.code {
        case .authMechanismRequiresPassword: return .passwordMissing(location: shown)
        case .sslUnsupported: return .tls(location: shown, detail: "the server does not support TLS (its ssl setting is off)")
        case .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return .tls(location: shown, detail: error.underlying.map { "\($0)" } ?? "\(error.code)")
        case .saslError, .unsupportedAuthMechanism:
            return .authenticationFailed(location: shown, detail: error.underlying.map { "\($0)" } ?? "\(error.code)")
        case .connectionError, .serverClosedConnection, .uncleanShutdown:
            let detail = error.underlying.map { "\($0)" } ?? "\(error.code)"
            if error.underlying is NIOSSLError { return .tls(location: shown, detail: detail) }
            return connecting ? .unreachable(location: shown, detail: detail) : .server(location: shown, detail: "the connection was lost: \(detail)")
        default:
            return .server(location: shown, detail: error.underlying.map { "\($0)" } ?? "\(error.code)")
        }
    }
}

/// A value sent in PostgreSQL's text format with a declared type: the server parses it, as it
/// would a literal (arrays of rows for `unnest`, timestamps, booleans as 0/1).
struct PGTextValue: PostgresDynamicTypeEncodable {
    var bytes: ByteBuffer
    var psqlType: PostgresDataType
    var psqlFormat: PostgresFormat { .text }

    init(_ bytes: ByteBuffer, type: PostgresDataType) {
        self.bytes = bytes
        self.psqlType = type
    }

    init(_ text: String, type: PostgresDataType = .text) {
        self.init(ByteBuffer(string: text), type: type)
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        var copy = bytes
        byteBuffer.writeBuffer(&copy)
    }
}

extension PostgresBindings {
    /// Text, or NULL.
    mutating func text(_ value: String?) {
        if let value { append(PGTextValue(value)) } else { appendNull() }
    }

    /// A value the server reads from text in the parameter's inferred type (unknown OID).
    mutating func untyped(_ value: String?) {
        if let value { append(PGTextValue(value, type: PostgresDataType(0))) } else { appendNull() }
    }

    mutating func int(_ value: Int64?) {
        if let value { append(value) } else { appendNull() }
    }
}

/// SQL for a `timestamptz` expression as s1ingest's stored text form (ISO-8601 UTC, six digits).
func isoText(_ expression: String) -> String {
    "to_char(\(expression) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
}
