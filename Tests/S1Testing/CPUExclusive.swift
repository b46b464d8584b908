import Testing

/// Runs a test or a suite while no other test marked with it runs: the tests that measure time
/// (a stop within seconds, a pause of one second) and the tests that keep both cores busy (many
/// processes, a PostgreSQL server writing thousands of analyses, the pacing grid) never overlap.
/// Other tests still run beside both, as before; on a two-core machine the heavy tests added
/// beside the timing ones made a full parallel run fail them (a 7 s stop took 15 s).
///
/// `@Test(.cpuExclusive)` or `@Suite(.cpuExclusive)` (a suite holds it for all its tests).
package struct CPUExclusive: TestTrait, SuiteTrait, TestScoping {
    package func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        await ExclusiveGate.shared.enter()
        do {
            try await function()
        } catch {
            await ExclusiveGate.shared.leave()
            throw error
        }
        await ExclusiveGate.shared.leave()
    }
}

extension Trait where Self == CPUExclusive {
    /// See ``CPUExclusive``.
    package static var cpuExclusive: CPUExclusive { CPUExclusive() }
}

/// One holder at a time, the others wait in order (without holding a thread).
actor ExclusiveGate {
    static let shared = ExclusiveGate()
    private var held = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty {
            held = false
        } else {
            waiting.removeFirst().resume()
        }
    }
}
