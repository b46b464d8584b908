import Dispatch
import S1IngestCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM ask the run to stop (requests in flight get `grace`, then are
/// cancelled; what was fetched is committed and the summary printed); a second signal ends
/// the process at once.
final class SignalTrap: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    convenience init(stop: StopRequest, grace: Duration) {
        self.init(stop: stop, message: "stopping: requests in flight get up to \(grace.components.seconds) s, then are cancelled (signal again to quit at once)")
    }

    /// The first signal requests `stop` and prints `message` (what stopping means for this
    /// command); a second ends the process at once.
    init(stop: StopRequest, message: String) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if stop.isRequested { _exit(130) }
                stop.request()
                FileHandleOutput.standardError("\ns1ingest: \(message)\n")
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Restores the default handling.
    func release() {
        for source in sources { source.cancel() }
        sources.removeAll()
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
