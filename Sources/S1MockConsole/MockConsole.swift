import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL
import Synchronization

/// A SentinelOne console look-alike serving real HTTP/1.1 on loopback, for the demo,
/// integration tests and benchmarks.
///
/// Endpoints:
/// - `GET /web/api/v2.1/private/threats/{id}/analysis`: the analysis of a threat of
///   ``MockConsoleConfiguration/analyses`` (`{"data":{...}}`), or `404` code 4040010.
/// - `GET /web/api/v2.1/threats`: the paged threat list (`limit`, `cursor`, `sortBy`,
///   `sortOrder`, `updatedAt__gte`, `updatedAt__gt`, `siteIds`, `ids`), answering
///   `{"data":[...],"pagination":{"nextCursor":...,"totalItems":...}}`.
/// - Anything else: `404` with an errors body.
///
/// Faults (``FaultPlan``) are injected as configured. Statistics and changes are
/// thread-safe. Call ``shutdown()`` when done.
public final class MockConsole: Sendable {
    private let core: MockConsoleCore
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let isShutDown = Mutex(false)

    /// The port the console listens on (the ephemeral one when the configuration said 0).
    public let port: Int
    /// The address the console listens on.
    public let host: String

    /// True when the console serves HTTPS (``MockConsoleConfiguration/tls``).
    public let isTLS: Bool

    /// `http://<host>:<port>` (`https` with TLS), e.g. `http://127.0.0.1:49152` (IPv6 hosts in brackets).
    public var baseURL: String {
        let scheme = isTLS ? "https" : "http"
        return host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
    }

    private init(core: MockConsoleCore, group: MultiThreadedEventLoopGroup, channel: any Channel, host: String, port: Int, isTLS: Bool) {
        self.core = core
        self.group = group
        self.channel = channel
        self.host = host
        self.port = port
        self.isTLS = isTLS
    }

    /// Starts a console with `configuration` and returns once it accepts connections.
    public static func start(_ configuration: MockConsoleConfiguration) async throws -> MockConsole {
        let core = try MockConsoleCore(configuration: configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let gzip = configuration.gzip
        let tlsContext = try configuration.tls.map { tls in
            try NIOSSLContext(configuration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificateChainFile).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.privateKeyFile, format: .pem))))
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext { try pipeline.addHandler(NIOSSLServerHandler(context: tlsContext)) }
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    if gzip {
                        // Truncated responses must reach the wire as sent, not be buffered
                        // by the compressor waiting for an end that never comes.
                        try pipeline.addHandler(HTTPResponseCompressor(responseCompressionPredicate: { head, _ in
                            guard head.headers.contains(name: MockConsoleHandler.uncompressedMarker) else { return .compressIfPossible }
                            head.headers.remove(name: MockConsoleHandler.uncompressedMarker)
                            return .doNotCompress
                        }))
                    }
                    try pipeline.addHandler(MockConsoleHandler(core: core))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
            let port = channel.localAddress?.port ?? configuration.port
            return MockConsole(core: core, group: group, channel: channel, host: configuration.host, port: port,
                               isTLS: tlsContext != nil)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Stops listening, closes every connection and stops the event loops. Calling it again
    /// does nothing.
    public func shutdown() async throws {
        let first = isShutDown.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        try? await channel.close()
        try await group.shutdownGracefully()
    }

    /// Replaces the fault plan; requests whose head arrives afterwards use the new one. A
    /// changed rate limit starts with a full bucket.
    public func setFaults(_ plan: FaultPlan) {
        core.state.withLock { state in
            if state.plan.rateLimit != plan.rateLimit { state.bucket = nil }
            state.plan = plan
        }
    }

    /// The current fault plan.
    public var faults: FaultPlan {
        core.state.withLock { $0.plan }
    }

    // MARK: Statistics

    /// How many analysis requests arrived for threat `id` (faulted and unauthorized ones included).
    public func requestCount(forThreat id: String) -> Int {
        core.state.withLock { $0.statistics.requestsByThreat[id] ?? 0 }
    }

    /// How many analysis requests arrived in all.
    public var analysisRequests: Int {
        core.state.withLock { $0.statistics.analysisRequests }
    }

    /// How many threat list requests arrived.
    public var listRequests: Int {
        core.state.withLock { $0.statistics.listRequests }
    }

    /// The most analysis requests in flight at once since start or ``resetStatistics()``.
    /// A request is in flight from the arrival of its head until its response is handed to
    /// the socket (or the connection is dropped or lost), so by the time a client has read a
    /// response, that request no longer counts.
    public var peakInFlight: Int {
        core.state.withLock { $0.statistics.peakInFlight }
    }

    /// Analysis requests in flight now (see ``peakInFlight``).
    public var inFlight: Int {
        core.state.withLock { $0.statistics.inFlight }
    }

    /// How many requests (analysis and list) were answered 429 because the rate limit's
    /// bucket was empty.
    public var rateLimitedRequests: Int {
        core.state.withLock { $0.statistics.rateLimited }
    }

    /// How many TCP connections were accepted (clients that keep connections alive open few).
    public var connectionsAccepted: Int {
        core.state.withLock { $0.statistics.connectionsAccepted }
    }

    /// Zeroes the counters (and so restarts ``FaultPlan/firstAttempts`` sequences); the
    /// peak starts again from the requests in flight now.
    public func resetStatistics() {
        core.state.withLock { state in
            let inFlight = state.statistics.inFlight
            state.statistics = MockConsoleStatistics()
            state.statistics.inFlight = inFlight
            state.statistics.peakInFlight = inFlight
        }
    }

    // MARK: Changes

    /// Threats `indices` change: each one's revision goes up by one, and its
    /// `threatInfo.updatedAt` becomes later than every `updatedAt` served so far (a logical
    /// clock one second past the latest, strictly increasing). Both the analysis and the
    /// list endpoint then show the new revision. Indices outside the set are ignored.
    public func touch(_ indices: [Int]) {
        core.touch(indices)
    }

    /// The revision of threat `index` (0 until touched).
    public func revision(of index: Int) -> Int {
        core.state.withLock { $0.revisions[index] ?? 0 }
    }

    /// The `threatInfo.updatedAt` the console currently serves for threat `index`.
    public func updatedAt(of index: Int) -> String {
        let override = core.state.withLock { $0.updatedAtOverrides[index] }
        return override.map { TimestampText.format(micros: $0) } ?? core.analyses.updatedAt(index)
    }
}
