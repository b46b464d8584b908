import Testing
import S1MockConsole

@Suite struct SyntheticAnalysesTests {
    @Test func sameSeedSameBodies() {
        let a = SyntheticAnalyses(count: 50, seed: 7)
        let b = SyntheticAnalyses(count: 50, seed: 7)
        #expect(a.body(13) == b.body(13))
        #expect(a.body(13) != SyntheticAnalyses(count: 50, seed: 8).body(13))
    }

    @Test func threatIdsRoundTrip() {
        let set = SyntheticAnalyses(count: 100)
        for index in [0, 1, 57, 99] {
            #expect(set.index(of: set.threatId(index)) == index)
        }
        #expect(set.index(of: set.threatId(100)) == nil)
        #expect(set.index(of: "12345") == nil)
        #expect(set.threatId(0).count == 19)
    }
}
