import S1Common
import S1JSON
import S1Model
/// One item of the threat listing: its ID and `threatInfo.updatedAt` (normalised).
public struct ListedThreat: Sendable, Equatable {
    public let threatId: String
    public let updatedAt: String

    public init(threatId: String, updatedAt: String) {
        self.threatId = threatId
        self.updatedAt = updatedAt
    }
}

/// One page of `GET /web/api/v2.1/threats`.
package struct ThreatListPage: Sendable {
    package var items: [ListedThreat]
    package var nextCursor: String?
    package var totalItems: Int?
    /// Items that could not be used, with why.
    package var skipped: [String] = []
}

/// Walks `GET /web/api/v2.1/threats` ordered by `updatedAt` ascending from a watermark,
/// page by page with the cursor, retrying each page like an analysis request.
package struct ThreatLister {
    package let client: ConsoleClient
    package let retry: RetryPolicy
    package let throttle: RequestThrottle
    package let pageSize: Int
    package let siteIds: [String]

    /// Requests made, and how many of them were repeats.
    package var requests: Int { counters.snapshot.requests }
    package var retries: Int { counters.snapshot.retries }
    /// Set when connections keep failing and nothing has reached the console: why the
    /// listing gave up on it.
    package private(set) var unreachable: String?
    /// Called before each retry with the attempt that failed and its error.
    package var onRetry: ((Int, FetchError) -> Void)?
    private let counters = FetchCounters()

    package init(client: ConsoleClient, retry: RetryPolicy, throttle: RequestThrottle, pageSize: Int, siteIds: [String]) {
        self.client = client
        self.retry = retry
        self.throttle = throttle
        self.pageSize = pageSize
        self.siteIds = siteIds
    }

    /// The URL of the first page (from `watermark`) or of the page `cursor` points to.
    package func url(from watermark: String, cursor: String?) -> String {
        var query: [(String, String)] = [("limit", String(pageSize))]
        if let cursor { query.append(("cursor", cursor)) }
        query.append(contentsOf: [("sortBy", "updatedAt"), ("sortOrder", "asc"), ("updatedAt__gte", watermark)])
        if !siteIds.isEmpty { query.append(("siteIds", siteIds.joined(separator: ","))) }
        return client.endpoint.threatListURL(query: query)
    }

    /// One page, retried on 429, 5xx, timeouts and connection errors; nil when `stop` is
    /// requested while it waits for the throttle, between attempts or during a request
    /// (a half-read page is worth nothing, so the request ends at once). Gives up early
    /// (``unreachable``) when connections keep failing and nothing has answered.
    package nonisolated(nonsending) mutating func page(from watermark: String, cursor: String?, stop: StopRequest) async -> Result<ThreatListPage, FetchError>? {
        let url = url(from: watermark, cursor: cursor)
        let requester = ConsoleRequester(client: client, retry: retry, throttle: throttle, counters: counters)
        let endpoint = client.endpoint
        let outcome = await requester.send(url, stop: stop, onRetry: onRetry) { response, retryAfter in
            Self.interpret(response, endpoint: endpoint, retryAfter: retryAfter)
        }
        switch outcome {
        case .value(let page, _):
            return .success(page)
        case .failed(let error, _, _):
            if case .cannotConnect = error { unreachable = counters.consoleUnreachable(endpoint, now: true) }
            return .failure(error)
        case .unreachable(let error, let verdict, _):
            unreachable = verdict
            return .failure(error)
        case .stopped, .deferred:
            return nil
        }
    }

    /// A list response: the page, or the error it amounts to (with the token of `endpoint`
    /// redacted from anything the console echoed).
    package static func interpret(_ response: ConsoleResponse, endpoint: ConsoleEndpoint, retryAfter: Duration?) -> Result<ThreatListPage, FetchError> {
        let document = try? JSONDocument(bytes: response.body)
        func detail() -> String { response.errorDetail(redactingTokenOf: endpoint) }
        switch response.status {
        case 200: break
        case 300...399: return .failure(response.redirect(redactingTokenOf: endpoint))
        case 401: return .failure(.unauthorized(detail: detail()))
        case 403: return .failure(.forbidden(detail: detail()))
        case 404: return .failure(.rejected(status: 404, detail: "the console has no threat list at this URL: \(detail())"))
        case 429: return .failure(.rateLimited(retryAfter: retryAfter))
        case 500...599: return .failure(.serverError(status: response.status, detail: detail()))
        default: return .failure(.rejected(status: response.status, detail: detail()))
        }
        guard let document else { return .failure(.malformedBody("the threat list is not JSON")) }
        guard let data = document.root["data"], data.kind == .array else {
            return .failure(.malformedBody("the threat list has no \"data\" array"))
        }
        var page = ThreatListPage(items: [], nextCursor: nil, totalItems: nil)
        page.items.reserveCapacity(data.count)
        for (index, item) in data.elements.enumerated() {
            // One bad item is skipped (and counted), not the whole page: the rest is fine.
            guard let idValue = item["id"], let id = idValue.string ?? (idValue.kind == .number ? idValue.rawText : nil),
                  !id.isEmpty, ThreatIDList.problem(with: id) == nil else {
                let shown = item["id"].map { $0.string ?? $0.rawText } ?? "none"
                page.skipped.append(endpoint.redactingToken(in: "item \(index + 1) of the page: \"id\" \(String(shown.prefix(40))) is not a threat ID (1 to 20 digits)"))
                continue
            }
            guard let text = item["threatInfo"]?["updatedAt"]?.string, let updatedAt = normalizedTimestamp(text) else {
                page.skipped.append("threat \(id): no ISO-8601 threatInfo.updatedAt")
                continue
            }
            page.items.append(ListedThreat(threatId: id, updatedAt: updatedAt))
        }
        if let pagination = document.root["pagination"] {
            page.nextCursor = pagination["nextCursor"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            page.totalItems = pagination["totalItems"]?.int64.map { Int($0) }
        }
        return .success(page)
    }
}
