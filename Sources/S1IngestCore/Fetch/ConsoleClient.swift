import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOSSL

/// Timeouts and limits of one console connection.
public struct ConsoleClientSettings: Sendable {
    /// Most requests in flight at once (and connections kept open).
    public var concurrency: Int
    public var connectTimeout: Duration
    /// Longest silence while reading a response.
    public var readTimeout: Duration
    /// Longest time for one whole request, response body included.
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
struct ConsoleResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// What an error response says, for messages and `last_error`: the console's `errors`
    /// list, else the start of the body (200 bytes). The token is redacted from the whole
    /// text before it is cut, so not even part of it can remain.
    func errorDetail(redactingTokenOf endpoint: ConsoleEndpoint) -> String {
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
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes every connection. Call once, when done.
    public func shutdown() async {
        try? await client.shutdown()
    }

    /// `GET path` with the token; the response, or why none came.
    func get(_ url: String) async -> Result<ConsoleResponse, FetchError> {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Authorization", value: "ApiToken \(endpoint.token)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        request.headers.add(name: "User-Agent", value: "s1ingest/\(S1IngestVersion.current)")
        do {
            let response = try await client.execute(request, deadline: .now() + .init(settings.requestDeadline))
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > settings.maxResponseBytes {
                return .failure(.tooLarge(limit: settings.maxResponseBytes))
            }
            let buffer = try await response.body.collect(upTo: settings.maxResponseBytes)
            return .success(ConsoleResponse(status: Int(response.status.code), headers: response.headers,
                                            body: Array(buffer.readableBytesView)))
        } catch {
            return .failure(Self.classify(error, limit: settings.maxResponseBytes))
        }
    }

    /// What a failed certificate check means and what to do about it.
    static let certificateAdvice = "TLS certificate check failed: the console's certificate is not signed by a CA trusted here "
        + "(for a private CA, pass --ca-file with its PEM), or it has expired, or it does not name the console URL's host"

    /// Turns a client error into a `FetchError` with a message a person can act on.
    static func classify(_ error: any Error, limit: Int) -> FetchError {
        // Too large as sent, or once gunzipped (the decompression limit): the same refusal.
        if error is NIOTooManyBytesError || error as? NIOHTTPDecompression.DecompressionError == .limit {
            return .tooLarge(limit: limit)
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return .timeout("no connection within the connect timeout")
            case .readTimeout: return .timeout("the console stopped sending within the read timeout")
            case .deadlineExceeded: return .timeout("no complete response within the request deadline")
            case .remoteConnectionClosed: return .transport("the console closed the connection before a complete response")
            default: return .transport(String(describing: error))
            }
        }
        if let error = error as? NIOSSLError {
            if "\(error)".contains("CERTIFICATE_VERIFY_FAILED") { return .transport(certificateAdvice) }
            return .transport("TLS: \(error)")
        }
        if let error = error as? BoringSSLError { return .transport("TLS certificate check failed: \(error)") }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return .transport("connection refused: is the console URL right, and is it reachable from here?")
            case ENETUNREACH, EHOSTUNREACH: return .transport("network unreachable: check the console URL and any proxy or firewall")
            default: return .transport(error.description)
            }
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return .timeout("no connection within the connect timeout")
            default: return .transport(String(describing: error))
            }
        }
        if error is CancellationError { return .transport("cancelled") }
        return .transport(String(describing: error))
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
