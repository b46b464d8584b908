import S1Common
import S1JSON
import S1Model
import Synchronization

/// Lets one large response body (1 MiB or more by `Content-Length`) at a time be received and
/// decoded, process-wide: without it each of the `--concurrency` workers held its whole body
/// (and, decoding, up to 6 times as much in nodes) at once. A request whose head announces a
/// large body waits here before reading it (the console's bytes wait in the socket), inside
/// the request's deadline; the permit goes with the response and is given back when the
/// response is dropped, after its analysis is decoded and flattened. Small bodies (real
/// analyses are a few KB) never wait.
package final class LargeBodyGate: Sendable {
    package static let shared = LargeBodyGate(threshold: 1 << 20)

    package let threshold: Int
    private struct State {
        package var busy = false
        package var waiters: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        package var nextID = 0
    }
    private let state = Mutex(State())

    package init(threshold: Int) {
        self.threshold = threshold
    }

    /// A permit for a body of `bytes`: nil when it is small, or when the task is cancelled
    /// while waiting (the caller then ends as cancelled).
    package func permit(forBodyOf bytes: Int) async -> LargeBodyPermit? {
        guard bytes >= threshold else { return nil }
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        let granted = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let answer: Bool? = state.withLock { state in
                    if Task.isCancelled { return false }
                    if !state.busy {
                        state.busy = true
                        return true
                    }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: false)
        }
        return granted ? LargeBodyPermit(gate: self) : nil
    }

    fileprivate func release() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.waiters.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume(returning: true)
    }

    /// True while a permit is held (for tests).
    package var isBusy: Bool { state.withLock { $0.busy } }
}

/// Held by a large response; gives the gate back when the response is dropped.
package final class LargeBodyPermit: Sendable {
    private let gate: LargeBodyGate

    fileprivate init(gate: LargeBodyGate) {
        self.gate = gate
    }

    deinit { gate.release() }
}
