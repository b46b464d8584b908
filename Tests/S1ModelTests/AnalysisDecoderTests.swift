import Foundation
import Testing
@testable import S1IngestCore
import S1Testing

@Suite struct AnalysisDecoderTests {
    let here = DocumentLocation(source: "in.json", line: 10)

    func decode(_ text: String) -> [Result<DecodedAnalysis, DecodeProblem>] {
        AnalysisDecoder.decode(bytes: Array(text.utf8), location: here)
    }

    func problem(_ text: String) -> String? {
        guard case .failure(let problem)? = decode(text).first else { return nil }
        return problem.reason
    }

    @Test func responseBodyKeepsTheBodyVerbatim() throws {
        let text = try String(contentsOfFile: Fixture.path(Fixture.capture2022), encoding: .utf8)
        let results = decode(text)
        #expect(results.count == 1)
        let analysis = try results[0].get()
        #expect(analysis.threatId == "1311010474425970168")
        #expect(analysis.body.rawText == text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func swimlaneOutputUnwrapsJsonBody() throws {
        let results = AnalysisDecoder.decode(bytes: Array(try Fixture.data(Fixture.swimlaneOutput)), location: here)
        #expect(results.count == 1)
        let analysis = try results[0].get()
        #expect(analysis.threatId == "1311010474425970168")
        #expect(analysis.location.index == 0)
        #expect(analysis.body.rawText.hasPrefix("{"))
        #expect(analysis.body["data"] != nil)
    }

    @Test func swimlaneErrorStatusIsReported() {
        let text = #"[{"status_code": 404, "reason": "Not Found", "json_body": {"errors": [{"code": 4040010, "title": "Not Found", "detail": null}]}}]"#
        let reason = problem(text)
        #expect(reason?.contains("status_code 404 Not Found") == true)
        #expect(reason?.contains("4040010") == true)
    }

    @Test func arrayOfBodiesAndBareDataObjects() throws {
        let text = #"[{"data": {"threatInfo": {"threatId": "1"}}}, {"threatInfo": {"threatId": "2"}}, 5]"#
        let results = decode(text)
        #expect(results.count == 3)
        #expect(try results[0].get().threatId == "1")
        #expect(try results[1].get().threatId == "2")
        #expect(try results[1].get().location.index == 1)
        guard case .failure(let third) = results[2] else { Issue.record("expected a problem"); return }
        #expect(third.location.index == 2)
        #expect(third.reason.contains("found a number"))
    }

    @Test func numericThreatIdKeepsItsDigits() throws {
        let analysis = try decode(#"{"data": {"threatInfo": {"threatId": 1311010474425970168}}}"#)[0].get()
        #expect(analysis.threatId == "1311010474425970168")
    }

    @Test(arguments: [
        (#"{"data": {"threatInfo": {}}}"#, "threatId is missing"),
        (#"{"data": {"threatInfo": {"threatId": null}}}"#, "threatId is missing"),
        (#"{"data": {"threatInfo": {"threatId": ""}}}"#, "threatId is missing"),
        (#"{"data": {"agentRealtimeInfo": {}}}"#, "no threatInfo"),
        (#"{"data": null, "errors": [{"code": 4010010, "title": "Authentication Failed"}]}"#, "4010010 Authentication Failed"),
        (#"{"data": []}"#, "\"data\" is an array"),
        (#"{"foo": 1, "bar": 2}"#, "no \"data\" member"),
        (#""just a string""#, "found a string"),
        (#"[]"#, "empty array"),
        (#"{"data": {"threatInfo": {"threatId": "a b"}}}"#, "not a usable ID"),
    ])
    func unusableDocumentsSayWhy(text: String, reason: String) {
        let found = problem(text)
        #expect(found?.contains(reason) == true, "got: \(found ?? "no problem")")
    }

    @Test func invalidJSONReportsTheFileLine() {
        guard case .failure(let problem)? = AnalysisDecoder.decode(bytes: Array("{\n\"data\": {,\n}".utf8), location: here).first else {
            Issue.record("expected a problem")
            return
        }
        #expect(problem.location.line == 11)
        #expect(problem.reason.hasPrefix("not valid JSON"))
    }
}
