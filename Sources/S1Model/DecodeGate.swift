import S1JSON
import S1Common
import Synchronization

/// Lets one large document at a time be decoded and flattened, process-wide, so the fetch
/// workers of `ingest` (8 by default) never hold several large tapes at once: a 31 MB body
/// of tiny values takes up to 6 times its size in nodes while it is decoded. Documents
/// under `threshold` (real analyses are a few KB) pass without waiting.
package final class DecodeGate: Sendable {
    package static let large = DecodeGate(threshold: 1 << 20)

    package let threshold: Int
    private let mutex = Mutex(())

    package init(threshold: Int) {
        self.threshold = threshold
    }

    /// Runs `body` (which must not suspend: it holds the gate) alone among large documents.
    package func run<R: Sendable>(bytes: Int, _ body: () -> R) -> R {
        guard bytes >= threshold else { return body() }
        return mutex.withLock { _ in body() }
    }
}
