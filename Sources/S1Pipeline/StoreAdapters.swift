import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// How the pipelines' console types are recorded by the store.
extension QueueFailure {
    /// The queue's record of a fetch that gave up with `error`.
    package init(_ error: FetchError) {
        self.init(notFound: error == .notFound, status: error.status, message: error.description, retryable: error.isRetryable)
    }
}

extension RunPacing {
    /// The run record's pacing columns from the pacer's report.
    package init(_ report: PacingReport) {
        self.init(pace: report.pace, budget: report.budget, rateLimited: report.rateLimited)
    }
}
