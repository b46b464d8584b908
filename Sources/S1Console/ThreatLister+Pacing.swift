import S1Common
import S1JSON
import S1Model
extension ThreatLister {
    /// Tells the throttle (shared with the analysis fetches) how a list request went: a 429
    /// slows and pauses every request of the console, any other answer counts as accepted.
    package nonisolated(nonsending) func pace(_ result: Result<ThreatListPage, FetchError>, retryAfter: Duration?, attempt: Int, started: ContinuousClock.Instant) async {
        switch result {
        case .success:
            await throttle.succeeded(requestStarted: started)
        case .failure(.rateLimited):
            await throttle.rateLimited(retryAfter: retryAfter, fallbackPause: retry.delay(afterAttempt: attempt, retryAfter: nil),
                                       requestStarted: started)
        case .failure(let error):
            if error.status != nil { await throttle.succeeded(requestStarted: started) }
        }
    }
}
