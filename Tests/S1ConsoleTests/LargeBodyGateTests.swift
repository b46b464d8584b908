import Testing
@testable import S1IngestCore
import S1Testing

/// One large response body at a time is held, from its head to its decoding (issue 11, item 5).
@Suite struct LargeBodyGateTests {
    @Test func oneLargeBodyAtATimeAndSmallOnesNeverWait() async throws {
        let gate = LargeBodyGate(threshold: 1000)
        #expect(await gate.permit(forBodyOf: 10) == nil)
        var first: LargeBodyPermit? = try #require(await gate.permit(forBodyOf: 5000))
        #expect(gate.isBusy)
        // A second large body waits until the first response is dropped.
        let second = Task { await gate.permit(forBodyOf: 5000) != nil }
        try await Task.sleep(for: .milliseconds(100))
        #expect(await gate.permit(forBodyOf: 10) == nil)  // small bodies pass meanwhile
        _ = first
        first = nil
        #expect(await second.value)
        // The second permit was dropped with its task's result: the gate is free again.
        #expect(!gate.isBusy)
    }

    @Test func aCancelledWaiterGivesUpAndLeavesTheGateUsable() async throws {
        let gate = LargeBodyGate(threshold: 1000)
        var held: LargeBodyPermit? = try #require(await gate.permit(forBodyOf: 5000))
        let waiter = Task { await gate.permit(forBodyOf: 5000) }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        #expect(await waiter.value == nil)
        _ = held
        held = nil
        #expect(!gate.isBusy)
        #expect(await gate.permit(forBodyOf: 5000) != nil)
    }
}
