import Synchronization

/// A request to stop a run early (SIGINT, SIGTERM, or a failure that ends the run): stop
/// taking IDs, finish what is in flight, write it, and end with the summary. Waits made
/// through ``sleep(until:)`` end as soon as the stop is requested, so a stop is prompt even
/// while workers back off or the client is paused after a 429.
public final class StopRequest: Sendable {
    private struct State {
        package var requested = false
        package var nextKey = 0
        package var observers: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Asks the run to stop and wakes every ``sleep(until:)`` in progress. Safe from any thread.
    public func request() {
        let observers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.requested else { return [] }
            state.requested = true
            defer { state.observers = [:] }
            return Array(state.observers.values)
        }
        for observer in observers { observer() }
    }

    /// Whether a stop was requested.
    public var isRequested: Bool { state.withLock { $0.requested } }

    /// Sleeps until `deadline`, or less when the stop is requested (or the task cancelled)
    /// meanwhile. Returns true when the whole wait elapsed, false when it was cut short.
    public func sleep(until deadline: ContinuousClock.Instant) async -> Bool {
        let wakeUp = WakeUp()
        let key = onRequest { wakeUp.fire() }
        defer { removeObserver(key) }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await Task.sleep(until: deadline, clock: .continuous)) != nil }
            group.addTask {
                await wakeUp.wait()
                return false
            }
            let elapsed = await group.next() ?? false
            wakeUp.fire()
            group.cancelAll()
            return elapsed
        }
    }

    /// ``sleep(until:)`` for `duration` from now.
    public func sleep(for duration: Duration) async -> Bool {
        await sleep(until: .now + duration)
    }

    /// A stop that follows this one after `grace` (at once when `grace` is zero): how a run
    /// gives requests in flight a bounded time to finish before cancelling them.
    public func escalated(after grace: Duration) -> StopRequest {
        let later = StopRequest()
        _ = onRequest {
            guard grace > .zero else { return later.request() }
            Task.detached {
                try? await Task.sleep(for: grace)
                later.request()
            }
        }
        return later
    }

    /// Calls `action` once when the stop is requested, at once if it already was. Returns a
    /// key for ``removeObserver(_:)``, or nil when `action` has already run.
    package func onRequest(_ action: @escaping @Sendable () -> Void) -> Int? {
        let key = state.withLock { state -> Int? in
            guard !state.requested else { return nil }
            state.nextKey += 1
            state.observers[state.nextKey] = action
            return state.nextKey
        }
        if key == nil { action() }
        return key
    }

    /// Forgets an observer added by ``onRequest(_:)``.
    package func removeObserver(_ key: Int?) {
        guard let key else { return }
        _ = state.withLock { $0.observers.removeValue(forKey: key) }
    }
}

/// A one-shot signal one task waits on: `fire` resumes the waiter, before or after it waits.
private final class WakeUp: Sendable {
    private let state = Mutex<(fired: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    package func wait() async {
        await withCheckedContinuation { continuation in
            let firedAlready = state.withLock { state -> Bool in
                if state.fired { return true }
                state.waiter = continuation
                return false
            }
            if firedAlready { continuation.resume() }
        }
    }

    package func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.fired else { return nil }
            state.fired = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
