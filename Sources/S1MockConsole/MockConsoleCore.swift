import NIOHTTP1
import Synchronization

/// The shared, thread-safe heart of a ``MockConsole``: configuration, state, and the
/// routing of a request head to a ``ResponsePlan``. Connection handlers on every event loop
/// call into it.
final class MockConsoleCore: Sendable {
    let analyses: SyntheticAnalyses
    let token: String?
    let state: Mutex<MockConsoleState>
    private let tableBox = Mutex<ThreatTable?>(nil)

    static let analysisPrefix = "/web/api/v2.1/private/threats/"
    static let analysisSuffix = "/analysis"
    static let listPath = "/web/api/v2.1/threats"

    init(configuration: MockConsoleConfiguration) throws(ArrivalRecorderError) {
        analyses = configuration.analyses
        token = configuration.token
        let arrivals = try configuration.arrivalsFile.map { path throws(ArrivalRecorderError) in try ArrivalRecorder(path: path) }
        state = Mutex(MockConsoleState(plan: configuration.faults, arrivals: arrivals))
    }

    /// The per-threat table, built on first use (only the list endpoint and `touch` need it).
    var table: ThreatTable {
        tableBox.withLock { box in
            if let table = box { return table }
            let table = ThreatTable(analyses)
            box = table
            return table
        }
    }

    /// Decides how to answer `head`. Counts the request (an analysis request is in flight
    /// from here until ``finishAnalyses(_:)``).
    func plan(for head: HTTPRequestHead) -> ResponsePlan {
        let uri = head.uri
        let path: Substring
        let query: Substring
        if let mark = uri.firstIndex(of: "?") {
            path = uri[..<mark]
            query = uri[uri.index(after: mark)...]
        } else {
            path = uri[...]
            query = ""
        }
        let authorized = isAuthorized(head.headers)
        if path.hasPrefix(Self.analysisPrefix), path.hasSuffix(Self.analysisSuffix),
           path.utf8.count > Self.analysisPrefix.utf8.count + Self.analysisSuffix.utf8.count {
            let id = path.dropFirst(Self.analysisPrefix.utf8.count).dropLast(Self.analysisSuffix.utf8.count)
            if !id.contains("/") {
                return analysisPlan(threatId: percentDecode(id), method: head.method, authorized: authorized)
            }
        }
        if path == Self.listPath {
            return listPlan(query: query, method: head.method, authorized: authorized)
        }
        let latency = state.withLock { $0.plan.latencyMilliseconds }
        let action = authorized ? ResponsePlan.notFound("No such endpoint: \(path)") : ResponsePlan.unauthorized("Missing or invalid API token")
        return ResponsePlan(delayMilliseconds: latency, action: action, isAnalysis: false)
    }

    /// Whether `headers` carry `Authorization: ApiToken <token>` (any case of the scheme),
    /// or no token is required.
    func isAuthorized(_ headers: HTTPHeaders) -> Bool {
        guard let token else { return true }
        for value in headers["authorization"] {
            let trimmed = value[...].drop { $0 == " " }
            guard let space = trimmed.firstIndex(of: " ") else { continue }
            let scheme = trimmed[..<space]
            let credential = trimmed[space...].drop { $0 == " " }
            var end = credential.endIndex
            while end > credential.startIndex, credential[credential.index(before: end)] == " " {
                end = credential.index(before: end)
            }
            if scheme.lowercased() == "apitoken", credential[..<end] == token { return true }
        }
        return false
    }

    /// `count` in-flight analysis requests are answered (or abandoned).
    func finishAnalyses(_ count: Int) {
        state.withLock { $0.statistics.inFlight -= count }
    }

    /// Threats `indices` change: revision + 1, and an `updatedAt` later than any so far.
    func touch(_ indices: [Int]) {
        let maxBase = table.maxBaseUpdatedAt
        state.withLock { state in
            var clock = state.clock ?? maxBase
            for index in indices where index >= 0 && index < analyses.count {
                clock += 1_000_000
                state.updatedAtOverrides[index] = clock
                state.revisions[index, default: 0] += 1
            }
            state.clock = clock
            state.order = nil
        }
    }
}
