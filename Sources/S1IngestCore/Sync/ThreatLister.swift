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
    /// requested while it waits for the throttle or between attempts.
    mutating func page(from watermark: String, cursor: String?, stop: StopRequest) async -> Result<ThreatListPage, FetchError>? {
        let url = url(from: watermark, cursor: cursor)
        var attempt = 0
        while true {
            attempt += 1
            guard let started = try? await throttle.acquire(stop: stop) else { return nil }
            requests += 1
            if attempt > 1 { retries += 1 }
            let result: Result<ThreatListPage, FetchError>
            var retryAfter: Duration?
            switch await client.get(url) {
            case .failure(let error):
                result = .failure(error)
            case .success(let response):
                retryAfter = RetryPolicy.parseRetryAfter(response.headers.first(name: "Retry-After"))
                result = Self.interpret(response, endpoint: client.endpoint, retryAfter: retryAfter)
            }
            await pace(result, retryAfter: retryAfter, attempt: attempt, started: started)
            guard case .failure(let error) = result, error.isRetryable, attempt < retry.maxAttempts, !stop.isRequested else {
                return result
            }
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
        for item in data.elements {
            guard let idValue = item["id"], let id = idValue.string ?? (idValue.kind == .number ? idValue.rawText : nil),
                  !id.isEmpty, id.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                return .failure(.malformedBody("a threat list item has no numeric \"id\""))
            }
            guard let text = item["threatInfo"]?["updatedAt"]?.string, let updatedAt = normalizedTimestamp(text) else {
                return .failure(.malformedBody("threat \(id) in the list has no ISO-8601 threatInfo.updatedAt"))
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
