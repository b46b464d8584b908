import Dispatch
import S1IngestCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM ask the run to stop (finish what is in flight, print the summary);
/// a second signal ends the process at once.
final class SignalTrap: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    init(stop: StopRequest, console: Console) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if stop.isRequested { _exit(130) }
                stop.request()
                FileHandleOutput.standardError("\ns1ingest: stopping: finishing requests in flight (signal again to quit at once)\n")
            }
            source.resume()
            sources.append(source)
        }
        _ = console
    }

    /// Restores the default handling.
    func release() {
        for source in sources { source.cancel() }
        sources.removeAll()
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
