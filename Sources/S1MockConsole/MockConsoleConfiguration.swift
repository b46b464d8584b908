/// How a ``MockConsole`` behaves: which threats exist, whether a token is needed, which
/// faults to inject, and where to listen.
public struct MockConsoleConfiguration: Sendable {
    /// The threats that exist (IDs `analyses.threatId(0 ..< analyses.count)`).
    public var analyses: SyntheticAnalyses
    /// When set, every request needs `Authorization: ApiToken <token>` (the scheme is
    /// case-insensitive, so `APIToken` works too); otherwise the answer is `401`.
    public var token: String?
    /// The faults to inject; none by default. Can be changed later with ``MockConsole/setFaults(_:)``.
    public var faults: FaultPlan
    /// The address to listen on.
    public var host: String = "127.0.0.1"
    /// The port to listen on; 0 picks a free ephemeral port (see ``MockConsole/port``).
    public var port: Int = 0
    /// Gzip response bodies when the request has `Accept-Encoding: gzip`.
    public var gzip: Bool = false
    /// How many event loop threads serve connections (1 or 2 is plenty on loopback).
    public var threads: Int = 2
    /// When set, the console serves HTTPS with this certificate (PEM files), so tests can
    /// check certificate verification and `--ca-file`.
    public var tls: MockConsoleTLS?
    /// When set, the time each authorized analysis or list request reached the rate limit
    /// is written to this file (nanoseconds since the console started, one line each), with
    /// or without a limit: what a console's bucket sees of a client's pacing
    /// (`scripts/bench-jitter.sh`).
    public var arrivalsFile: String?

    /// A console serving `analyses`, optionally behind `token`, with `faults`.
    public init(analyses: SyntheticAnalyses, token: String? = nil, faults: FaultPlan = FaultPlan()) {
        self.analyses = analyses
        self.token = token
        self.faults = faults
    }
}

/// The certificate and key an HTTPS ``MockConsole`` presents.
public struct MockConsoleTLS: Sendable {
    /// PEM file with the server certificate (then any intermediates).
    public var certificateChainFile: String
    /// PEM file with the certificate's private key.
    public var privateKeyFile: String

    public init(certificateChainFile: String, privateKeyFile: String) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }
}
