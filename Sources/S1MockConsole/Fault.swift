/// The value of a `Retry-After` header sent with a `429 Too Many Requests`.
public enum RetryAfterValue: Sendable, Equatable {
    /// `Retry-After: <seconds>` (delta-seconds).
    case seconds(Int)
    /// `Retry-After: <IMF-fixdate>`, a moment this many seconds after the response is built.
    case httpDate(secondsFromNow: Int)
    /// The header value exactly as given (for unparsable or unusual values).
    case raw(String)
}

/// One way the mock console can misbehave for a request.
public enum Fault: Sendable, Equatable {
    /// `429 Too Many Requests` with an errors body and, when given, a `Retry-After` header.
    case tooManyRequests(retryAfter: RetryAfterValue?)
    /// The given status (500, 502, 503, ...) with an errors body.
    case serverError(status: Int)
    /// The TCP connection is closed without any response.
    case dropConnection
    /// `200` with the full `Content-Length`, but only the first half of the body; then the
    /// connection is closed.
    case truncatedBody
    /// `200` with a complete response whose body is not valid JSON.
    case malformedBody
    /// The correct answer, but only after this many milliseconds (on top of any latency).
    case slowResponse(milliseconds: Int)
    /// `200` with the whole `Content-Length` and the head at once, then the body one byte
    /// every `intervalMilliseconds` (a console that never quite stops sending).
    case trickleBody(intervalMilliseconds: Int)
    /// A redirect (`301`, `302`, `307`, ...) to `location`, with an empty body.
    case redirect(status: Int, location: String)
    /// `401` with code 4010010 "Authentication Failed".
    case unauthorized
    /// `403` with code 4030010 "Insufficient Permissions".
    case forbidden
}

/// A console's request budget for the token: a token bucket of `burst` tokens refilled at
/// `rate` per second; a request that finds it empty is answered 429 (with `retryAfter` when
/// set) and takes no token.
public struct TokenBucketLimit: Sendable, Equatable {
    /// Tokens per second: the budget.
    public var rate: Double
    /// The bucket's size: how many requests may come at once after a quiet spell.
    public var burst: Double
    /// The `Retry-After` of its 429s; nil for none.
    public var retryAfter: RetryAfterValue?

    public init(rate: Double, burst: Double = 5, retryAfter: RetryAfterValue? = .seconds(1)) {
        self.rate = max(rate, 0.001)
        self.burst = max(burst, 1)
        self.retryAfter = retryAfter
    }
}

/// Which faults the mock console applies, and when.
///
/// For an analysis request, the first match wins, in this order: a missing or wrong token
/// (401), ``rateLimit`` (429 when its bucket is empty), ``everyRequest``, ``firstAttempts``,
/// ``randomFaults``, ``notFoundIDs`` (404), then the normal answer. List requests go
/// through the same ``rateLimit`` bucket. ``latencyMilliseconds`` is added to every
/// response, whatever it is.
public struct FaultPlan: Sendable {
    /// Added before every response (scheduled on the event loop; no thread sleeps).
    public var latencyMilliseconds: Int = 0
    /// Threat IDs answered with `404` code 4040010 even though they are in the set.
    public var notFoundIDs: Set<String> = []
    /// The k-th analysis request for each threat ID gets `firstAttempts[k-1]`; later requests
    /// are answered normally. Counts are those of ``MockConsole/requestCount(forThreat:)``,
    /// so ``MockConsole/resetStatistics()`` starts the sequence again.
    public var firstAttempts: [Fault] = []
    /// Faults applied at random to analysis requests. The draw is a pure function of
    /// ``seed``, the threat ID and its attempt number, so a run is reproducible whatever the
    /// order in which concurrent requests arrive. Probabilities add up (their sum should be ≤ 1).
    public var randomFaults: [(fault: Fault, probability: Double)] = []
    /// The seed of ``randomFaults``.
    public var seed: UInt64 = 1
    /// Applied to every analysis and list request (e.g. `.unauthorized` for a bad-token test).
    public var everyRequest: Fault? = nil
    /// The token's request budget, shared by analysis and list requests; nil for none.
    public var rateLimit: TokenBucketLimit? = nil

    /// No faults, no latency.
    public init(
        latencyMilliseconds: Int = 0,
        notFoundIDs: Set<String> = [],
        firstAttempts: [Fault] = [],
        randomFaults: [(fault: Fault, probability: Double)] = [],
        seed: UInt64 = 1,
        everyRequest: Fault? = nil,
        rateLimit: TokenBucketLimit? = nil
    ) {
        self.latencyMilliseconds = latencyMilliseconds
        self.notFoundIDs = notFoundIDs
        self.firstAttempts = firstAttempts
        self.randomFaults = randomFaults
        self.seed = seed
        self.everyRequest = everyRequest
        self.rateLimit = rateLimit
    }

    /// The random fault, if any, for attempt `attempt` (1-based) of threat `threatId`.
    func randomFault(threatId: String, attempt: Int) -> Fault? {
        guard !randomFaults.isEmpty else { return nil }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in threatId.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        var z = hash &+ seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(attempt) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let draw = Double(z >> 11) / Double(UInt64(1) << 53)
        var cumulative = 0.0
        for entry in randomFaults {
            cumulative += entry.probability
            if draw < cumulative { return entry.fault }
        }
        return nil
    }
}
