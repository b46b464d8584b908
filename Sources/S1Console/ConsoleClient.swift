import S1Common
import S1JSON
import S1Model
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL
import S1JSON

/// Timeouts and limits of one console connection.
public struct ConsoleClientSettings: Sendable {
    /// Most requests in flight at once (and connections kept open).
    public var concurrency: Int
    public var connectTimeout: Duration
    /// Longest silence while reading a response.
    public var readTimeout: Duration
    /// Longest time for one whole request: connection, headers and the whole body.
    public var requestDeadline: Duration
    /// Largest response body accepted.
    public var maxResponseBytes: Int
    /// A PEM file with a private CA to trust in addition to the system's.
    public var caFile: String?

    public init(concurrency: Int = 8, connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(30),
                requestDeadline: Duration = .seconds(60), maxResponseBytes: Int = 32 << 20, caFile: String? = nil) {
        self.concurrency = concurrency
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.requestDeadline = requestDeadline
        self.maxResponseBytes = maxResponseBytes
        self.caFile = caFile
    }
}

/// One HTTP response from the console, before any interpretation.
package struct ConsoleResponse: Sendable {
    package let status: Int
    package let headers: HTTPHeaders
    package let body: [UInt8]
    /// For a large body: its turn at the `LargeBodyGate`, given back with the response.
    package let permit: LargeBodyPermit?

    package init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8], permit: LargeBodyPermit? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.permit = permit
    }

    /// A 3xx answer: its status and `Location`, without credentials, query or the token.
    package func redirect(redactingTokenOf endpoint: ConsoleEndpoint) -> FetchError {
        let location = headers.first(name: "Location").map { endpoint.redactingToken(in: ConsoleEndpoint.redactedURL($0)) } ?? ""
        return .redirected(status: status, location: location)
    }

    /// What an error response says, for messages and `last_error`: the console's `errors`
    /// list, else the start of the body (200 bytes). The token is redacted from the whole
    /// text before it is cut, so not even part of it can remain.
    package func errorDetail(redactingTokenOf endpoint: ConsoleEndpoint) -> String {
        guard let document = try? JSONDocument(bytes: body) else {
            let text = endpoint.redactingToken(in: String(decoding: body, as: UTF8.self))
            return String(decoding: text.utf8.prefix(200), as: UTF8.self)
        }
        return endpoint.redactingToken(in: AnalysisDecoder.describeErrors(document.root["errors"]) ?? "")
    }
}

/// The console's HTTP client (AsyncHTTPClient): certificate checks always on, gzip
/// accepted, a connection pool as large as the concurrency.
public final class ConsoleClient: Sendable {
    public let endpoint: ConsoleEndpoint
    public let settings: ConsoleClientSettings
    private let client: HTTPClient

    public init(endpoint: ConsoleEndpoint, settings: ConsoleClientSettings) throws {
        self.endpoint = endpoint
        self.settings = settings
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile = settings.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ConsoleConfigurationError.unreadableCAFile(path: caFile, reason: "not a readable file")
            }
            do {
                _ = try NIOSSLCertificate.fromPEMFile(caFile)
            } catch {
                throw ConsoleConfigurationError.unreadableCAFile(path: caFile, reason: "not a PEM certificate (\(error))")
            }
            tls.additionalTrustRoots = [.file(caFile)]
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: .init(settings.connectTimeout), read: .init(settings.readTimeout)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, settings.concurrency)),
            decompression: .enabled(limit: .size(settings.maxResponseBytes))
        )
        configuration.httpVersion = .automatic
        // A failed connection fails its request at once (our retry loop decides what next),
        // instead of the pool retrying quietly until the request deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes every connection. Call once, when done.
    public func shutdown() async {
        try? await client.shutdown()
    }

    /// `GET url` with the token: the response, or why none came. One deadline
    /// (`requestDeadline`) covers the connection, the headers and the whole body, so a
    /// console that trickles its body cannot hold a request past it; `cancel` ends the
    /// request at once (`.stopped`).
    package func get(_ url: String, cancel: StopRequest? = nil) async -> Result<ConsoleResponse, FetchError> {
        let limit = settings.requestDeadline
        let deadline = ContinuousClock.now + limit
        return await withTaskGroup(of: Result<ConsoleResponse, FetchError>.self) { group in
            group.addTask { await self.perform(url, deadline: .now() + TimeAmount(limit)) }
            group.addTask {
                if await (cancel ?? StopRequest()).sleep(until: deadline) {
                    return .failure(.timeout("no complete response within the request timeout (\(Self.seconds(limit)) s)"))
                }
                return .failure(.stopped)
            }
            let first = await group.next() ?? .failure(.stopped)
            group.cancelAll()
            return first
        }
    }

    /// One request, without the overall deadline (`get` adds it).
    private func perform(_ url: String, deadline: NIODeadline) async -> Result<ConsoleResponse, FetchError> {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Authorization", value: "ApiToken \(endpoint.token)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        request.headers.add(name: "User-Agent", value: "s1ingest/\(S1IngestVersion.current)")
        do {
            let response = try await client.execute(request, deadline: deadline)
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > settings.maxResponseBytes {
                return .failure(.tooLarge(limit: settings.maxResponseBytes))
            }
            // One large body at a time is read and decoded (see LargeBodyGate).
            let announced = response.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0
            let permit = await LargeBodyGate.shared.permit(forBodyOf: announced)
            if announced >= LargeBodyGate.shared.threshold && permit == nil { return .failure(.stopped) }
            let buffer = try await response.body.collect(upTo: settings.maxResponseBytes)
            return .success(ConsoleResponse(status: Int(response.status.code), headers: response.headers,
                                            body: Array(buffer.readableBytesView), permit: permit))
        } catch {
            if Task.isCancelled { return .failure(.stopped) }
            return .failure(Self.classify(error, limit: settings.maxResponseBytes).redacted(by: endpoint))
        }
    }

    /// `duration` in whole seconds, or with decimals when it has a fraction.
    package static func seconds(_ duration: Duration) -> String {
        let value = duration.seconds
        return value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    /// What a failed certificate check means and what to do about it.
    package static let certificateAdvice = "TLS certificate check failed: the console's certificate is not signed by a CA trusted here "
        + "(for a private CA, pass --ca-file with its PEM), or it has expired, or it does not name the console URL's host"

    /// Turns a client error into a `FetchError` with a message a person can act on (never
    /// the TLS library's internals or its source paths).
    package static func classify(_ error: any Error, limit: Int) -> FetchError {
        // Too large as sent, or once gunzipped (the decompression limit): the same refusal.
        if error is NIOTooManyBytesError || error as? NIOHTTPDecompression.DecompressionError == .limit {
            return .tooLarge(limit: limit)
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return .cannotConnect(.connectTimeout, detail: "no connection within the connect timeout")
            case .readTimeout: return .timeout("the console stopped sending within the read timeout")
            case .deadlineExceeded: return .timeout("no complete response within the request deadline")
            case .remoteConnectionClosed: return .transport("the console closed the connection before a complete response")
            default: return .transport(withoutSourcePaths(String(describing: error)))
            }
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return classify(first.error, limit: limit) }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return .cannotConnect(.dns, detail: "the host name \(error.host) does not resolve")
            }
            return .transport(withoutSourcePaths(error.description))
        }
        if let error = error as? SocketAddressError, case .unknown(let host, _) = error {
            return .cannotConnect(.dns, detail: "the host name \(host) does not resolve")
        }
        if let error = error as? NIOSSLError { return classifyTLS("\(error)") }
        if let error = error as? BoringSSLError { return classifyTLS("\(error)") }
        if let error = error as? NIOSSLExtraError {
            if error == .failedToValidateHostname {
                return .cannotConnect(.certificate, detail: "the console's TLS certificate does not name the URL's host: " + certificateAdvice)
            }
            return .cannotConnect(.tlsHandshake, detail: "TLS handshake failed")
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return .cannotConnect(.refused, detail: "connection refused")
            case ENETUNREACH, EHOSTUNREACH: return .cannotConnect(.unreachable, detail: "network unreachable")
            case ETIMEDOUT: return .cannotConnect(.connectTimeout, detail: "no connection within the connect timeout")
            default: return .transport(withoutSourcePaths(error.description))
            }
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return .cannotConnect(.connectTimeout, detail: "no connection within the connect timeout")
            default: return .transport(withoutSourcePaths(String(describing: error)))
            }
        }
        if error is CancellationError { return .stopped }
        return .transport(withoutSourcePaths(String(describing: error)))
    }

    /// A TLS failure from its description: the certificate check, a server that does not
    /// speak TLS, or another handshake failure named by its reason code only.
    package static func classifyTLS(_ text: String) -> FetchError {
        if text.contains("CERTIFICATE_VERIFY_FAILED") { return .cannotConnect(.certificate, detail: certificateAdvice) }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") {
            return .cannotConnect(.tlsHandshake, detail: "TLS handshake failed: the server did not answer with TLS "
                                  + "(is the console URL https pointed at a plain-http port?)")
        }
        let reason = tlsReason(text).map { " (\($0))" } ?? ""
        return .cannotConnect(.tlsHandshake, detail: "TLS handshake failed\(reason): check the console URL's scheme and port")
    }

    /// The reason code of a BoringSSL error text (`...:OPENSSL_internal:WRONG_VERSION_NUMBER at ...`).
    package static func tlsReason(_ text: String) -> String? {
        guard let range = text.range(of: "OPENSSL_internal:") else { return nil }
        let reason = text[range.upperBound...].prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
        return reason.isEmpty ? nil : String(reason)
    }

    /// `text` without ` at /some/source/file.cc:123` (where a library says where it failed).
    package static func withoutSourcePaths(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let range = rest.range(of: " at /") {
            result += rest[..<range.lowerBound]
            rest = rest[range.upperBound...].drop { !$0.isWhitespace && $0 != "]" && $0 != ")" && $0 != "," }
        }
        return result + rest
    }
}


#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
