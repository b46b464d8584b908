import S1Common
import S1JSON
import S1Model
import Foundation

/// When to try a failed request again: exponential back-off with full jitter, and the
/// console's `Retry-After` when it sends one.
public struct RetryPolicy: Sendable {
    /// Attempts per ID in one run, the first included.
    public var maxAttempts: Int
    /// The back-off's first step; attempt n waits a random time up to `base * 2^(n-1)`.
    public var baseDelay: Duration
    /// The longest single wait.
    public var maxDelay: Duration

    /// The longest `Retry-After` honoured: longer (or absurd) values are cut to this, so a
    /// console cannot park the client (or overflow a clock) with `Retry-After: 1e30`.
    public static let maxRetryAfter: Duration = .seconds(120)

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// How long to wait after failed attempt number `attempt` (1-based): at least the
    /// console's `retryAfter`, else a random time in [0, min(maxDelay, base * 2^(attempt-1))].
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        if let honoured = honoured(retryAfter) { return honoured }
        let ceiling = ceiling(afterAttempt: attempt)
        let nanoseconds = Double(ceiling.components.seconds) * 1e9 + Double(ceiling.components.attoseconds) / 1e9
        return .nanoseconds(Int64(Double.random(in: 0...1) * nanoseconds))
    }

    /// How long a later run should leave an ID alone after `attempt` failed attempts (its
    /// `next_attempt_at`): the console's `retryAfter`, else the back-off's ceiling, without
    /// jitter, so the durable schedule is a plain "not before".
    public func laterRunDelay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        honoured(retryAfter) ?? ceiling(afterAttempt: attempt)
    }

    /// `retryAfter` when positive, at most `4 × maxDelay`.
    private func honoured(_ retryAfter: Duration?) -> Duration? {
        guard let retryAfter, retryAfter > .zero else { return nil }
        return min(retryAfter, maxDelay * 4)
    }

    /// The back-off's ceiling after attempt `attempt`: `min(maxDelay, base * 2^(attempt-1))`.
    private func ceiling(afterAttempt attempt: Int) -> Duration {
        min(maxDelay, baseDelay * (1 << min(max(attempt - 1, 0), 30)))
    }

    /// Parses a `Retry-After` header: delta seconds (digits only) or an HTTP date, at most
    /// ``maxRetryAfter``. Zero, past, negative, fractional or unparseable values count as absent.
    public static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            // Huge digit strings overflow Int64: they are simply "very long".
            let seconds = Int64(value) ?? Int64.max
            return seconds > 0 ? .seconds(min(seconds, maxRetryAfter.components.seconds)) : nil
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: value) {
                let seconds = date.timeIntervalSince(now)
                guard seconds.isFinite, seconds > 0 else { return nil }
                return .milliseconds(Int64(min(seconds, maxRetryAfter.seconds) * 1000))
            }
        }
        return nil
    }
}
