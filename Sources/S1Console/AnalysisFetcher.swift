import S1Common
import S1JSON
import S1Model
/// What fetching one threat's analysis came to, after retries.
public struct FetchOutcome: Sendable {
    public let threatId: String
    /// The flattened analysis, when one was fetched and decoded.
    public let analysis: FlattenedAnalysis?
    /// Why not, otherwise.
    public let error: FetchError?
    /// Requests made for this ID.
    public let attempts: Int
    /// For a retryable `error`: how long a later run should wait before trying again.
    public let retryDelay: Duration?
    /// True when the run stopped before this ID was settled (no request made, or a retry
    /// cut short): it is left as it was in the queue, for a later run.
    public let stopped: Bool
    /// Set when nothing has reached the console yet and connections keep failing: the
    /// run should give up on the console (with this message); the ID stays as it was.
    public let consoleUnreachable: String?
    /// True when a 429's wait was handed to the run's deferred fetches: the ID is fetched
    /// again once it is over, and its worker takes other IDs meanwhile.
    public var deferred = false

    package init(threatId: String, analysis: FlattenedAnalysis? = nil, error: FetchError? = nil, attempts: Int,
         retryDelay: Duration? = nil, stopped: Bool = false, consoleUnreachable: String? = nil) {
        self.threatId = threatId
        self.analysis = analysis
        self.error = error
        self.attempts = attempts
        self.retryDelay = retryDelay
        self.stopped = stopped
        self.consoleUnreachable = consoleUnreachable
    }
}

/// Fetches analyses with retries, pacing and decoding; shared by every fetch worker.
public struct AnalysisFetcher: Sendable {
    public let client: ConsoleClient
    public let retry: RetryPolicy
    public let throttle: RequestThrottle
    /// Counts requests and retries across workers.
    package let counters: FetchCounters

    public init(client: ConsoleClient, retry: RetryPolicy, throttle: RequestThrottle) {
        self.client = client
        self.retry = retry
        self.throttle = throttle
        self.counters = FetchCounters()
    }

    /// Fetches, decodes and flattens `threatId`, retrying what is retryable. Waits (pacing,
    /// back-off) end early when `stop` is requested, and a request in flight ends when
    /// `cancel` is; the outcome is then `stopped`.
    ///
    /// With `deferrals`, a 429's wait (its `Retry-After`, else the back-off) is not slept
    /// here: the ID goes to `deferrals` with its attempts so far and the outcome is
    /// `deferred`, so the worker fetches other IDs meanwhile. A 429 that is the console's own
    /// trouble, not the budget, then costs one request its wait instead of a worker.
    public func fetch(_ threatId: String, ingestedAt: String, stop: StopRequest = StopRequest(),
                      cancel: StopRequest? = nil, attemptsSoFar: Int = 0, deferrals: DeferredFetches? = nil) async -> FetchOutcome {
        let endpoint = client.endpoint
        let url = endpoint.analysisURL(threatId: threatId)
        let requester = ConsoleRequester(client: client, retry: retry, throttle: throttle, counters: counters)
        let deferral = deferrals.map { deferrals in
            { (wait: Duration, attempts: Int) -> Bool in
                deferrals.add(threatId, attempts: attempts, due: .now + wait)
                return true
            }
        }
        let outcome = await requester.send(url, attemptsSoFar: attemptsSoFar, stop: stop, cancel: cancel ?? stop, deferral: deferral) {
            response, retryAfter in
            Self.interpret(response, threatId: threatId, url: url, endpoint: endpoint, retryAfter: retryAfter, ingestedAt: ingestedAt)
        }
        switch outcome {
        case .value(let analysis, let attempts):
            return FetchOutcome(threatId: threatId, analysis: analysis, attempts: attempts)
        case .failed(let error, let attempts, let retryAfter):
            let later = error.isRetryable ? retry.laterRunDelay(afterAttempt: attempts, retryAfter: retryAfter) : nil
            return FetchOutcome(threatId: threatId, error: error, attempts: attempts, retryDelay: later)
        case .stopped(let attempts):
            return FetchOutcome(threatId: threatId, attempts: attempts, stopped: true)
        case .unreachable(let error, let verdict, let attempts):
            return FetchOutcome(threatId: threatId, error: error, attempts: attempts, consoleUnreachable: verdict)
        case .deferred(let error, let attempts):
            var deferred = FetchOutcome(threatId: threatId, error: error, attempts: attempts)
            deferred.deferred = true
            return deferred
        }
    }

    /// Reads a response: a usable analysis, or the error it amounts to. Text the console
    /// sent back has the token redacted.
    package static func interpret(_ response: ConsoleResponse, threatId: String, url: String, endpoint: ConsoleEndpoint, retryAfter: Duration?,
                          ingestedAt: String) -> Result<FlattenedAnalysis, FetchError> {
        func detail() -> String { response.errorDetail(redactingTokenOf: endpoint) }
        switch response.status {
        case 200:
            // One large body at a time is decoded: its nodes are freed before the next one's.
            return DecodeGate.large.run(bytes: response.body.count) { () -> Result<FlattenedAnalysis, FetchError> in
                let location = DocumentLocation(source: url, line: 1)
                guard let first = AnalysisDecoder.decode(bytes: response.body, location: location).first else {
                    return .failure(.malformedBody("empty body"))
                }
                switch first {
                case .failure(let problem):
                    return .failure(.malformedBody(endpoint.redactingToken(in: problem.reason)))
                case .success(let analysis):
                    guard analysis.threatId == threatId else {
                        return .failure(.malformedBody(endpoint.redactingToken(in: "the console answered with threat \(analysis.threatId)")))
                    }
                    return .success(AnalysisFlattener.flatten(analysis, ingestedAt: ingestedAt))
                }
            }
        case 300...399: return .failure(response.redirect(redactingTokenOf: endpoint))
        case 401: return .failure(.unauthorized(detail: detail()))
        case 403: return .failure(.forbidden(detail: detail()))
        case 404: return .failure(.notFound)
        case 429: return .failure(.rateLimited(retryAfter: retryAfter))
        case 500...599: return .failure(.serverError(status: response.status, detail: detail()))
        default: return .failure(.rejected(status: response.status, detail: detail()))
        }
    }
}

import Synchronization

/// Threat IDs whose next attempt waits for a time (a 429's `Retry-After`), shared by a
/// run's fetch workers: whichever worker is free fetches one once it is due.
public final class DeferredFetches: Sendable {
    private let items = Mutex<[(id: String, attempts: Int, due: ContinuousClock.Instant)]>([])

    public init() {}

    package func add(_ id: String, attempts: Int, due: ContinuousClock.Instant) {
        items.withLock { $0.append((id, attempts, due)) }
    }

    /// An ID whose time has come, with its attempts so far; nil when none is due.
    package func takeDue() -> (id: String, attempts: Int)? {
        let now = ContinuousClock.now
        return items.withLock { items in
            guard let index = items.indices.filter({ items[$0].due <= now }).min(by: { items[$0].due < items[$1].due }) else { return nil }
            let item = items.remove(at: index)
            return (item.id, item.attempts)
        }
    }

    /// The ID due first, once it is due; nil when there is none, or when `stop` is
    /// requested while it waits (the ID then stays as it is in the queue).
    package func next(stop: StopRequest) async -> (id: String, attempts: Int)? {
        let first = items.withLock { items -> (id: String, attempts: Int, due: ContinuousClock.Instant)? in
            guard let index = items.indices.min(by: { items[$0].due < items[$1].due }) else { return nil }
            return items.remove(at: index)
        }
        guard let first else { return nil }
        guard await stop.sleep(until: first.due) else { return nil }
        return (first.id, first.attempts)
    }
}

/// Request statistics shared by the fetch workers (and the threat listing), and the
/// verdict that the console cannot be reached at all.
package final class FetchCounters: Sendable {
    package struct Values {
        package var requests = 0
        package var retries = 0
        package var successes = 0
        package var failedResponses = 0
        package var noResponses = 0
        package var consecutiveNoResponse = 0
        /// The last failure, for progress while nothing succeeds.
        package var lastError: String?
        /// Failed connections while no request has reached the console.
        package var connectFailures = 0
        package var lastConnectFailure: FetchError?
    }

    private let values = Mutex(Values())
    private let created = ContinuousClock.now
    /// How long connections must keep failing, with nothing reaching the console, before
    /// the run gives up on it (counted from the first request; at least 2 attempts).
    package let giveUpAfter: Duration

    package init(giveUpAfter: Duration = .seconds(8)) {
        self.giveUpAfter = giveUpAfter
    }

    package func request(retry: Bool) {
        values.withLock {
            $0.requests += 1
            if retry { $0.retries += 1 }
        }
    }

    package func success() {
        values.withLock {
            $0.successes += 1
            $0.consecutiveNoResponse = 0
            $0.lastError = nil
        }
    }

    package func response(_ error: FetchError) {
        values.withLock {
            $0.failedResponses += 1
            $0.consecutiveNoResponse = 0
            $0.lastError = error.description
        }
    }

    package func noResponse(_ error: FetchError) {
        values.withLock {
            $0.noResponses += 1
            $0.consecutiveNoResponse += 1
            $0.lastError = error.description
            if case .cannotConnect = error {
                $0.connectFailures += 1
                $0.lastConnectFailure = error
            }
        }
    }

    /// A message for giving up on the console when no request has reached it yet, at
    /// least 2 connections failed, and ``giveUpAfter`` has passed since the first request
    /// (`now`: whatever the time, when the caller has run out of attempts).
    package func consoleUnreachable(_ endpoint: ConsoleEndpoint, now: Bool = false) -> String? {
        let clock = ContinuousClock.now
        return values.withLock { values -> String? in
            guard values.successes == 0, values.failedResponses == 0, values.connectFailures >= (now ? 1 : 2),
                  now || clock - created >= giveUpAfter,
                  case .cannotConnect(let kind, let detail)? = values.lastConnectFailure else { return nil }
            return "cannot reach the console at \(endpoint.baseURL): \(detail) (\(values.connectFailures) attempts in "
                + "\(Int((clock - created).seconds.rounded())) s, none answered); \(kind.advice)"
        }
    }

    package var snapshot: Values { values.withLock { $0 } }
}
