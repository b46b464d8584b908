import S1Common

/// The one request loop for every console call, the analysis fetches and the threat listing
/// alike: waits for the console's pacer, makes the request with its deadline, reads the
/// answer, tells the pacer how it went (a 429 slows every request of the console down), and
/// retries what is retryable with back-off and `Retry-After` until an answer, the last
/// attempt, or a stop.
package struct ConsoleRequester: Sendable {
    package let client: ConsoleClient
    package let retry: RetryPolicy
    /// The console's pacer, shared by everything that calls it in a run.
    package let throttle: RequestThrottle
    /// Requests, retries and failures of this kind of call, and the unreachable verdict.
    package let counters: FetchCounters

    package init(client: ConsoleClient, retry: RetryPolicy, throttle: RequestThrottle, counters: FetchCounters) {
        self.client = client
        self.retry = retry
        self.throttle = throttle
        self.counters = counters
    }

    /// How a call ended.
    package enum Outcome<Value> {
        /// The answer, after `attempts` requests in all.
        case value(Value, attempts: Int)
        /// Given up on: the last error, with the last `Retry-After` the console sent.
        case failed(FetchError, attempts: Int, retryAfter: Duration?)
        /// `stop` (or `cancel`) ended it before it was settled.
        case stopped(attempts: Int)
        /// Nothing has reached the console yet and connections keep failing: give up on it.
        case unreachable(FetchError, verdict: String, attempts: Int)
        /// A 429's wait was handed to the caller's `deferral`; the call is to be made again.
        case deferred(FetchError, attempts: Int)
    }

    /// Calls `url` until `interpret` makes a value of an answer or the call is given up.
    ///
    /// - Parameters:
    ///   - attemptsSoFar: requests already made for this call (a deferred one goes on counting).
    ///   - stop: ends waits (pacing, back-off) at once; also ends a request in flight unless
    ///     `cancel` is given, which then does that instead (later, after a grace period).
    ///   - deferral: takes a 429's wait (of at least 100 ms) instead of sleeping it here, so the
    ///     caller's worker does other calls meanwhile; returns false to sleep it here after all.
    ///   - onRetry: told of each failed attempt that is retried.
    ///   - interpret: the answer's value, or the error it amounts to (given `Retry-After`).
    package nonisolated(nonsending) func send<Value>(_ url: String, attemptsSoFar: Int = 0, stop: StopRequest, cancel: StopRequest? = nil,
                             deferral: ((_ wait: Duration, _ attempts: Int) -> Bool)? = nil,
                             onRetry: ((_ attempt: Int, _ error: FetchError) -> Void)? = nil,
                             interpret: (ConsoleResponse, Duration?) -> Result<Value, FetchError>) async -> Outcome<Value> {
        var attempt = attemptsSoFar
        while true {
            guard let started = try? await throttle.acquire(stop: stop) else { return .stopped(attempts: attempt) }
            attempt += 1
            counters.request(retry: attempt > 1)
            var retryAfter: Duration?
            let result: Result<Value, FetchError>
            switch await client.get(url, cancel: cancel ?? stop) {
            case .failure(.stopped):
                return .stopped(attempts: attempt)
            case .failure(let error):
                result = .failure(error)
            case .success(let response):
                retryAfter = RetryPolicy.parseRetryAfter(response.headers.first(name: "Retry-After"))
                result = interpret(response, retryAfter)
            }
            let error: FetchError
            switch result {
            case .success(let value):
                await throttle.succeeded(requestStarted: started)
                counters.success()
                return .value(value, attempts: attempt)
            case .failure(let failure):
                error = failure
            }
            if error.status != nil { counters.response(error) } else { counters.noResponse(error) }
            if case .rateLimited = error {
                await throttle.rateLimited(retryAfter: retryAfter, fallbackPause: retry.delay(afterAttempt: attempt, retryAfter: nil),
                                           requestStarted: started)
            } else if error.status != nil {
                await throttle.succeeded(requestStarted: started)  // answered: it counted against the budget
            }
            if let verdict = counters.consoleUnreachable(client.endpoint) {
                return .unreachable(error, verdict: verdict, attempts: attempt)
            }
            guard error.isRetryableNow, attempt < retry.maxAttempts, !Task.isCancelled else {
                return .failed(error, attempts: attempt, retryAfter: retryAfter)
            }
            let wait = retry.delay(afterAttempt: attempt, retryAfter: retryAfter)
            if case .rateLimited = error, let deferral, wait >= .milliseconds(100), deferral(wait, attempt) {
                return .deferred(error, attempts: attempt)
            }
            onRetry?(attempt, error)
            guard await stop.sleep(for: wait) else { return .stopped(attempts: attempt) }
        }
    }
}
