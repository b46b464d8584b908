#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes when each request reached the console's rate limit, one line per request:
/// nanoseconds since the console started. What a console's token bucket sees of a client's
/// pacing, after the client's HTTP stack, the kernel and the console's own event loop:
/// `scripts/bench-jitter.sh` replays it against one-token buckets of several budgets.
final class ArrivalRecorder: Sendable {
    private let descriptor: Int32
    private let origin = ContinuousClock.now

    /// Creates (or empties) `path`.
    init(path: String) throws(ArrivalRecorderError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ArrivalRecorderError(path: path, reason: String(cString: strerror(errno))) }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Records an arrival at `now` (one write: lines from several event loops never mix).
    func record(_ now: ContinuousClock.Instant) {
        let elapsed = now - origin
        var line = String(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000) + "\n"
        line.withUTF8 { _ = write(descriptor, $0.baseAddress, $0.count) }
    }
}

/// The arrivals file could not be created.
public struct ArrivalRecorderError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write the arrivals file \(path): \(reason)" }
}
