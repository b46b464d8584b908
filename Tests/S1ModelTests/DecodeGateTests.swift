import Foundation
import Synchronization
import Testing
@testable import S1IngestCore
import S1Testing

/// Large documents are decoded one at a time across fetch workers (issue 11, item 5).
@Suite struct DecodeGateTests {
    final class Occupancy: Sendable {
        private let state = Mutex((now: 0, most: 0))
        func enter() { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
        func leave() { state.withLock { $0.now -= 1 } }
        var most: Int { state.withLock { $0.most } }
    }

    @Test func largeDocumentsNeverOverlapAndSmallOnesDoNotWait() async {
        let gate = DecodeGate(threshold: 1000)
        let occupancy = Occupancy()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<20 {
                        gate.run(bytes: 5000) { occupancy.enter(); usleep(200); occupancy.leave() }
                    }
                }
            }
        }
        #expect(occupancy.most == 1)
        // A small document passes, also while a large one holds the gate.
        #expect(gate.run(bytes: 10) { 42 } == 42)
        #expect(gate.run(bytes: 5000) { gate.run(bytes: 10) { 7 } } == 7)
    }
}
