import S1JSON

/// One item of the threat listing: its ID and `threatInfo.updatedAt` (normalised).
public struct ListedThreat: Sendable, Equatable {
    public let threatId: String
    public let updatedAt: String
}

/// One page of `GET /web/api/v2.1/threats`.
struct ThreatListPage: Sendable {
    var items: [ListedThreat]
    var nextCursor: String?
    var totalItems: Int?
    /// Items that could not be used, with why.
    var skipped: [String] = []
}

/// Walks `GET /web/api/v2.1/threats` ordered by `updatedAt` ascending from a watermark,
/// page by page with the cursor, retrying each page like an analysis request.
struct ThreatLister {
    let client: ConsoleClient
    let retry: RetryPolicy
    let throttle: RequestThrottle
    let pageSize: Int
    let siteIds: [String]

    /// Requests made, and how many of them were repeats.
    private(set) var requests = 0
    private(set) var retries = 0
    /// Set when connections keep failing and nothing has reached the console: why the
    /// listing gave up on it.
    private(set) var unreachable: String?
    /// Called before each retry with the attempt that failed and its error.
    var onRetry: ((Int, FetchError) -> Void)?
    private let counters = FetchCounters()

    init(client: ConsoleClient, retry: RetryPolicy, throttle: RequestThrottle, pageSize: Int, siteIds: [String]) {
        self.client = client
        self.retry = retry
        self.throttle = throttle
        self.pageSize = pageSize
        self.siteIds = siteIds
    }

    /// The URL of the first page (from `watermark`) or of the page `cursor` points to.
    func url(from watermark: String, cursor: String?) -> String {
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
    nonisolated(nonsending) mutating func page(from watermark: String, cursor: String?, stop: StopRequest) async -> Result<ThreatListPage, FetchError>? {
        let url = url(from: watermark, cursor: cursor)
        var attempt = 0
        while true {
            attempt += 1
            guard let started = try? await throttle.acquire(stop: stop) else { return nil }
            requests += 1
            if attempt > 1 { retries += 1 }
            let result: Result<ThreatListPage, FetchError>
            var retryAfter: Duration?
            switch await client.get(url, cancel: stop) {
            case .failure(.stopped):
                return nil
            case .failure(let error):
                result = .failure(error)
            case .success(let response):
                retryAfter = RetryPolicy.parseRetryAfter(response.headers.first(name: "Retry-After"))
                result = Self.interpret(response, endpoint: client.endpoint, retryAfter: retryAfter)
            }
            switch result {
            case .success: counters.success()
            case .failure(let error) where error.status != nil: counters.response(error)
            case .failure(let error): counters.noResponse(error)
            }
            await pace(result, retryAfter: retryAfter, attempt: attempt, started: started)
            if case .failure = result, let verdict = counters.consoleUnreachable(client.endpoint) {
                unreachable = verdict
                return result
            }
            guard case .failure(let error) = result, error.isRetryableNow, attempt < retry.maxAttempts, !stop.isRequested else {
                if case .failure(.cannotConnect) = result { unreachable = counters.consoleUnreachable(client.endpoint, now: true) }
                return result
            }
            onRetry?(attempt, error)
            guard await stop.sleep(for: retry.delay(afterAttempt: attempt, retryAfter: retryAfter)) else { return nil }
        }
    }

    /// A list response: the page, or the error it amounts to (with the token of `endpoint`
    /// redacted from anything the console echoed).
    static func interpret(_ response: ConsoleResponse, endpoint: ConsoleEndpoint, retryAfter: Duration?) -> Result<ThreatListPage, FetchError> {
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
