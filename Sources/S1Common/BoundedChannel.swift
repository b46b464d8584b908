import Synchronization

/// A bounded first-in first-out channel between async tasks: `send` waits while it is full,
/// `receive` waits while it is empty, and both end once it is finished. This is how a
/// pipeline stage hands work to the next (e.g. flattening to the one database writer, or
/// threat IDs to a pool of fetch workers) without letting either run ahead by more than
/// `capacity` items. Any number of tasks may send and receive.
public final class BoundedChannel<Element: Sendable>: Sendable {
    private struct State {
        package var items: [Element] = []
        package var head = 0
        package var finished = false
        package var consumers: [CheckedContinuation<Element?, Never>] = []
        package var producers: [CheckedContinuation<Void, Never>] = []

        package var count: Int { items.count - head }

        package mutating func pop() -> Element {
            let element = items[head]
            head += 1
            if head > 64 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return element
        }
    }

    private let state = Mutex(State())
    /// The most items held at once.
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0, "a channel needs room for one item")
        self.capacity = capacity
    }

    /// Sends `element`, waiting for room. Returns false, dropping it, once the channel is finished.
    @discardableResult
    public func send(_ element: Element) async -> Bool {
        while true {
            let delivered: Bool? = state.withLock { state in
                if state.finished { return false }
                if !state.consumers.isEmpty {
                    state.consumers.removeFirst().resume(returning: element)
                    return true
                }
                if state.count < capacity {
                    state.items.append(element)
                    return true
                }
                return nil
            }
            if let delivered { return delivered }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.finished || state.count < capacity { return true }
                    state.producers.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// The next element, waiting for one; nil once the channel is finished and drained.
    public func receive() async -> Element? {
        let immediate: Element?? = state.withLock { state in
            if state.count > 0 {
                let element = state.pop()
                if !state.producers.isEmpty { state.producers.removeFirst().resume() }
                return .some(element)
            }
            return state.finished ? .some(nil) : nil
        }
        if let immediate { return immediate }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
            state.withLock { state in
                if state.count > 0 {
                    let element = state.pop()
                    if !state.producers.isEmpty { state.producers.removeFirst().resume() }
                    continuation.resume(returning: element)
                } else if state.finished {
                    continuation.resume(returning: nil)
                } else {
                    state.consumers.append(continuation)
                }
            }
        }
    }

    /// The elements already waiting, at most `limit`, without waiting for more (none: empty).
    public func receiveWaiting(limit: Int) -> [Element] {
        state.withLock { state in
            var elements: [Element] = []
            while elements.count < limit && state.count > 0 {
                elements.append(state.pop())
                if !state.producers.isEmpty { state.producers.removeFirst().resume() }
            }
            return elements
        }
    }

    /// True once `finish()` was called.
    public var isFinished: Bool { state.withLock { $0.finished } }

    /// Ends the channel: waiting receivers get nil after the buffered items, senders get false.
    public func finish() {
        state.withLock { state in
            state.finished = true
            for consumer in state.consumers { consumer.resume(returning: nil) }
            state.consumers.removeAll()
            for producer in state.producers { producer.resume() }
            state.producers.removeAll()
        }
    }
}
