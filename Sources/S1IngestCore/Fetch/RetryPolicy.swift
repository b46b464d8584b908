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

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// How long to wait after failed attempt number `attempt` (1-based): at least the
    /// console's `retryAfter`, else a random time in [0, min(maxDelay, base * 2^(attempt-1))].
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter, retryAfter > .zero { return min(retryAfter, maxDelay * 4) }
        let exponent = min(attempt - 1, 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let nanoseconds = Double(ceiling.components.seconds) * 1e9 + Double(ceiling.components.attoseconds) / 1e9
        return .nanoseconds(Int64(Double.random(in: 0...1) * nanoseconds))
    }

    /// Parses a `Retry-After` header: delta seconds or an HTTP date. Zero, negative or
    /// unparseable values count as absent.
    public static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value) {
            return seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : nil
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: value) {
                let seconds = date.timeIntervalSince(now)
                return seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : nil
            }
        }
        return nil
    }
}
