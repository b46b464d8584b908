import S1Common
import S1JSON
import S1Model
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import S1JSON

/// One step of `s1ingest check`.
public struct CheckStep: Sendable, Encodable {
    public enum Outcome: String, Sendable, Encodable {
        case ok, warning, failed, skipped
    }

    /// `dns`, `tcp`, `tls`, `token`, `scope`, `clock`, `pace`.
    public let name: String
    public let outcome: Outcome
    /// What was found, or the cause in plain words.
    public let detail: String
}

/// What `s1ingest check` found, in order; it stops at the first step that fails.
public struct CheckReport: Sendable, Encodable {
    public let console: String
    public var steps: [CheckStep] = []

    /// 0 all good (warnings included), 2 unreachable or TLS, 3 the token was refused.
    public var exitCode: Int32 {
        guard let failed = steps.first(where: { $0.outcome == .failed }) else { return 0 }
        return failed.name == "token" ? 3 : 2
    }
}

/// Is the console right before tonight? Checks, in order and each on its own: the name
/// (DNS), a TCP connection, TLS (the chain verified as the ingest does, days until the
/// certificate expires), the token (one list request with `limit=1`), what it can see, the
/// console's clock against ours, and the pace learned for the console. Changes nothing.
public enum ConsoleCheck {
    public static func run(endpoint: ConsoleEndpoint, settings: ConsoleClientSettings, pace: String? = nil) async -> CheckReport {
        var report = CheckReport(console: endpoint.baseURL)
        guard let url = URLComponents(string: endpoint.requestBaseURL), let host = url.host else {
            report.steps.append(CheckStep(name: "dns", outcome: .failed, detail: "the console URL has no host"))
            return report
        }
        let https = url.scheme == "https"
        let port = url.port ?? (https ? 443 : 80)

        // 1. DNS
        let addresses: [String]
        switch resolve(host) {
        case .success(let found):
            addresses = found
            let literal = found == [host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))]
            report.steps.append(CheckStep(name: "dns", outcome: .ok, detail: literal ? "\(host) is an address (no lookup)"
                                          : "\(host) -> \(found.prefix(3).joined(separator: ", "))\(found.count > 3 ? " (\(found.count) addresses)" : "")"))
        case .failure(let reason):
            report.steps.append(CheckStep(name: "dns", outcome: .failed, detail: "\(host) does not resolve (\(reason)): "
                                          + ConnectionFailure.dns.advice))
            return report
        }

        // 2. TCP, and 3. TLS on the same connection.
        let timeout = TimeAmount(settings.connectTimeout)
        let started = ContinuousClock.now
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(timeout)
                .connect(host: addresses[0], port: port).get()
            let elapsed = ContinuousClock.now - started
            report.steps.append(CheckStep(name: "tcp", outcome: .ok,
                                          detail: "connected to \(addresses[0]):\(port) in \(Int(elapsed.seconds * 1000)) ms"))
            if !https {
                try? await channel.close()
                report.steps.append(CheckStep(name: "tls", outcome: .skipped, detail: "plain http (loopback or --allow-insecure-http)"))
            } else {
                let tls = try await handshake(channel, host: host, caFile: settings.caFile)
                report.steps.append(tls)
                if tls.outcome == .failed { return report }
            }
        } catch {
            let failure = ConsoleClient.classify(error, limit: settings.maxResponseBytes).redacted(by: endpoint)
            report.steps.append(CheckStep(name: "tcp", outcome: .failed, detail: "\(failure.description) (\(addresses[0]):\(port))"
                                          + (failure.connectionFailure.map { "; " + $0.advice } ?? "")))
            return report
        }

        // 4. The token, 5. what it sees, 6. the clock.
        guard let client = try? ConsoleClient(endpoint: endpoint, settings: settings) else {
            report.steps.append(CheckStep(name: "token", outcome: .failed, detail: "the client could not be set up (--ca-file?)"))
            return report
        }
        defer { Task { await client.shutdown() } }
        let asked = Date()
        let first = await client.get(endpoint.threatListURL(query: [("limit", "1")]))
        let answered = Date()
        switch first {
        case .failure(let error):
            report.steps.append(CheckStep(name: "token", outcome: .failed, detail: "no answer to GET /web/api/v2.1/threats?limit=1: \(error)"))
            return report
        case .success(let response) where response.status == 401 || response.status == 403:
            let error: FetchError = response.status == 401 ? .unauthorized(detail: response.errorDetail(redactingTokenOf: endpoint))
                : .forbidden(detail: response.errorDetail(redactingTokenOf: endpoint))
            report.steps.append(CheckStep(name: "token", outcome: .failed, detail: error.description))
            return report
        case .success(let response) where response.status != 200:
            let error = response.status >= 300 && response.status < 400 ? response.redirect(redactingTokenOf: endpoint)
                : FetchError.rejected(status: response.status, detail: response.errorDetail(redactingTokenOf: endpoint))
            report.steps.append(CheckStep(name: "token", outcome: .failed, detail: "GET /web/api/v2.1/threats?limit=1: \(error)"))
            return report
        case .success(let response):
            report.steps.append(CheckStep(name: "token", outcome: .ok, detail: "accepted (GET /web/api/v2.1/threats?limit=1: 200)"))
            report.steps.append(await scope(client: client, endpoint: endpoint, first: response))
            report.steps.append(clock(response.headers.first(name: "Date"), asked: asked, answered: answered))
        }

        // 7. The pace learned for this console.
        report.steps.append(CheckStep(name: "pace", outcome: pace == nil ? .skipped : .ok, detail: pace ?? "none learned yet"))
        return report
    }

    /// The total number of threats, and the accounts and sites of the first page (100).
    package static func scope(client: ConsoleClient, endpoint: ConsoleEndpoint, first: ConsoleResponse) async -> CheckStep {
        let total = (try? JSONDocument(bytes: first.body))?.root["pagination"]?["totalItems"]?.int64
        var sites = Set<String>()
        var accounts = Set<String>()
        if case .success(let page) = await client.get(endpoint.threatListURL(query: [("limit", "100")])), page.status == 200,
           let document = try? JSONDocument(bytes: page.body), let data = document.root["data"] {
            for item in data.elements {
                let detection = item["agentDetectionInfo"]
                if let site = detection?["siteName"]?.string ?? item["agentRealtimeInfo"]?["siteName"]?.string { sites.insert(site) }
                if let account = detection?["accountName"]?.string ?? item["agentRealtimeInfo"]?["accountName"]?.string { accounts.insert(account) }
            }
        }
        func names(_ set: Set<String>) -> String {
            let sorted = set.sorted().map(terminalSafe)
            return sorted.prefix(5).joined(separator: ", ") + (sorted.count > 5 ? " and \(sorted.count - 5) more" : "")
        }
        let count = total.map { "\($0) threats visible" } ?? "threat count not given"
        let seen = sites.isEmpty ? "no site names in the first page" : "accounts: \(names(accounts)); sites: \(names(sites)) (first 100 threats)"
        return CheckStep(name: "scope", outcome: total == 0 ? .warning : .ok, detail: "\(count); \(seen)")
    }

    /// The console's `Date` against ours (the midpoint of the request); a minute off is a warning.
    package static func clock(_ header: String?, asked: Date, answered: Date) -> CheckStep {
        guard let header else { return CheckStep(name: "clock", outcome: .skipped, detail: "the console sent no Date header") }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let theirs = formatter.date(from: header) else {
            return CheckStep(name: "clock", outcome: .skipped, detail: "unreadable Date header '\(terminalSafe(header))'")
        }
        let ours = asked.addingTimeInterval(answered.timeIntervalSince(asked) / 2)
        let skew = theirs.timeIntervalSince(ours)
        let text = abs(skew) < 1.5 ? "in step with ours (within a second)"
            : String(format: "%.0f s %@ ours", abs(skew), skew > 0 ? "ahead of" : "behind")
        return CheckStep(name: "clock", outcome: abs(skew) > 60 ? .warning : .ok,
                         detail: "the console's clock is \(text)" + (abs(skew) > 60 ? ": sync windows (--overlap) may miss threats" : ""))
    }

    /// The TLS handshake on `channel`, with the certificate checks the ingest makes.
    package static func handshake(_ channel: any Channel, host: String, caFile: String?) async throws -> CheckStep {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
        let context = try NIOSSLContext(configuration: configuration)
        let literal = host.first == "[" || host.allSatisfy { $0.isNumber || $0 == "." }
        let done = channel.eventLoop.makePromise(of: (version: String, notAfter: time_t?).self)
        try await channel.eventLoop.submit {
            let ssl = try NIOSSLClientHandler(context: context, serverHostname: literal ? nil : host)
            try channel.pipeline.syncOperations.addHandler(ssl)
            try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(ssl: ssl, done: done))
        }.get()
        defer { channel.close(promise: nil) }
        do {
            let result = try await done.futureResult.get()
            guard let notAfter = result.notAfter else {
                return CheckStep(name: "tls", outcome: .ok, detail: "\(result.version), certificate verified")
            }
            let days = Int((Double(notAfter) - Date().timeIntervalSince1970) / 86_400)
            let date = formatTimestamp(secondsSince1970: Double(notAfter)).prefix(10)
            return CheckStep(name: "tls", outcome: days < 14 ? .warning : .ok,
                             detail: "\(result.version), certificate verified\(caFile != nil ? " (with --ca-file)" : ""), expires in \(days) days (\(date))")
        } catch {
            let failure = ConsoleClient.classify(error, limit: 0)
            return CheckStep(name: "tls", outcome: .failed, detail: failure.description + (failure.connectionFailure.map { "; " + $0.advice } ?? ""))
        }
    }
}

/// Completes `done` when the TLS handshake has completed (with the version and the peer
/// certificate's expiry) or failed.
private final class HandshakeWatcher: ChannelInboundHandler {
    package typealias InboundIn = Any
    private let ssl: NIOSSLClientHandler
    private let done: EventLoopPromise<(version: String, notAfter: time_t?)>

    package init(ssl: NIOSSLClientHandler, done: EventLoopPromise<(version: String, notAfter: time_t?)>) {
        self.ssl = ssl
        self.done = done
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event as? TLSUserEvent ?? .shutdownCompleted {
            let version = ssl.tlsVersion.map { "\($0)" } ?? "TLS"
            done.succeed((version, ssl.peerCertificate?.notValidAfter))
        }
        context.fireUserInboundEventTriggered(event)
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        done.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }
}

/// The addresses `host` resolves to (an address literal as itself).
package func resolve(_ host: String) -> Result<[String], ResolveError> {
    let name = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let code = getaddrinfo(name, nil, &hints, &list)
    guard code == 0, let first = list else { return .failure(ResolveError(reason: String(cString: gai_strerror(code)))) }
    defer { freeaddrinfo(list) }
    var addresses: [String] = []
    var entry: UnsafeMutablePointer<addrinfo>? = first
    while let current = entry {
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
            let address = String(cString: buffer)
            if !addresses.contains(address) { addresses.append(address) }
        }
        entry = current.pointee.ai_next
    }
    return addresses.isEmpty ? .failure(ResolveError(reason: "no address")) : .success(addresses)
}

/// Why a name did not resolve (getaddrinfo's words).
package struct ResolveError: Error, CustomStringConvertible {
    package let reason: String
    package var description: String { reason }
}
