import NIOHTTP1

/// `GET /web/api/v2.1/threats`: the paged threat list the nightly sync walks.
///
/// Parameters: `limit` (1–1000, default 10), `cursor` (a `nextCursor`; it carries the
/// listing's filters, which then win over any given again), `sortBy=updatedAt`,
/// `sortOrder=asc|desc`, `updatedAt__gte`, `updatedAt__gt` (ISO-8601), `siteIds`, `ids`
/// (comma-separated). Items are ordered by (updatedAt, id); each is the threat's analysis
/// `data` object with its `id` first.
extension MockConsoleCore {
    static let defaultListLimit = 10
    static let maximumListLimit = 1000

    func listPlan(query: Substring, method: HTTPMethod, authorized: Bool) -> ResponsePlan {
        let plan = state.withLock { state in
            state.statistics.listRequests += 1
            let limited = authorized && !state.takeToken()
            let every = limited ? state.plan.rateLimit.map { Fault.tooManyRequests(retryAfter: $0.retryAfter) } : state.plan.everyRequest
            return (latency: state.plan.latencyMilliseconds, every: every)
        }
        guard authorized else {
            return ResponsePlan(delayMilliseconds: plan.latency,
                                action: ResponsePlan.unauthorized("Missing or invalid API token"), isAnalysis: false)
        }
        let normal = { self.listAction(query: query, method: method) }
        guard let fault = plan.every else {
            return ResponsePlan(delayMilliseconds: plan.latency, action: normal(), isAnalysis: false)
        }
        let (action, extra) = ResponsePlan.action(for: fault, normal: normal)
        return ResponsePlan(delayMilliseconds: plan.latency + extra, action: action, isAnalysis: false)
    }

    func listAction(query: Substring, method: HTTPMethod) -> ResponsePlan.Action {
        guard method == .GET else { return ResponsePlan.notFound("No such endpoint: \(method) \(Self.listPath)") }
        let parameters = parseQuery(query)
        var limit = Self.defaultListLimit
        if let text = parameters["limit"] {
            guard let value = Int(text), (1...Self.maximumListLimit).contains(value) else {
                return ResponsePlan.badRequest("limit must be an integer from 1 to \(Self.maximumListLimit), not \"\(text)\"")
            }
            limit = value
        }
        if let sortBy = parameters["sortBy"], sortBy != "updatedAt" {
            return ResponsePlan.badRequest("sortBy \"\(sortBy)\" is not supported (use updatedAt)")
        }
        var filters = ListFilters()
        if let order = parameters["sortOrder"] {
            switch order.lowercased() {
            case "asc": filters.descending = false
            case "desc": filters.descending = true
            default: return ResponsePlan.badRequest("sortOrder must be asc or desc, not \"\(order)\"")
            }
        }
        for (name, isGTE) in [("updatedAt__gte", true), ("updatedAt__gt", false)] {
            guard let text = parameters[name] else { continue }
            guard let micros = TimestampText.parse(text[...]) else {
                return ResponsePlan.badRequest("\(name) must be an ISO-8601 timestamp, not \"\(text)\"")
            }
            if isGTE { filters.updatedAtGTE = micros } else { filters.updatedAtGT = micros }
        }
        for (name, isSites) in [("siteIds", true), ("ids", false)] {
            guard let text = parameters[name], !text.isEmpty else { continue }
            var values = Set<UInt64>()
            for item in text.split(separator: ",") {
                guard let value = UInt64(item.trimmingSpaces) else {
                    return ResponsePlan.badRequest("\(name) must be comma-separated numeric IDs, not \"\(text)\"")
                }
                values.insert(value)
            }
            if isSites { filters.siteIds = values } else { filters.ids = values }
        }
        var position: (updatedAt: Int64, id: UInt64)?
        if let text = parameters["cursor"], !text.isEmpty {
            guard let cursor = ListCursor(encoded: text) else {
                return ResponsePlan.badRequest("Invalid cursor")
            }
            filters = cursor.filters
            position = (cursor.updatedAt, cursor.id)
        }
        return .respond(status: .ok, headers: [:], body: page(filters: filters, after: position, limit: limit))
    }

    /// One page of the listing as a JSON body.
    func page(filters: ListFilters, after position: (updatedAt: Int64, id: UInt64)?, limit: Int) -> String {
        let table = self.table
        let (order, overrides, revisions) = state.withLock { state in
            if state.order == nil { state.order = Self.listOrder(table, overrides: state.updatedAtOverrides) }
            return (state.order!, state.updatedAtOverrides, state.revisions)
        }
        @inline(__always) func key(_ index: Int) -> (Int64, UInt64) {
            (overrides[index] ?? table.baseUpdatedAt[index], table.ids[index])
        }
        func matches(_ index: Int) -> Bool {
            let (updatedAt, id) = key(index)
            if let gte = filters.updatedAtGTE, updatedAt < gte { return false }
            if let gt = filters.updatedAtGT, updatedAt <= gt { return false }
            if let sites = filters.siteIds, !sites.contains(table.sites[index]) { return false }
            if let ids = filters.ids, !ids.contains(id) { return false }
            return true
        }
        /// The first position whose key is not `below` the bound (keys ascend along `order`).
        func firstPosition(where notBelow: ((Int64, UInt64)) -> Bool) -> Int {
            var low = 0, high = order.count
            while low < high {
                let middle = (low + high) / 2
                if notBelow(key(order[middle])) { high = middle } else { low = middle + 1 }
            }
            return low
        }
        // Everything before `timeStart` fails the time filters.
        var timeBound: (Int64, UInt64)?
        if let gte = filters.updatedAtGTE { timeBound = (gte - 1, UInt64.max) }
        if let gt = filters.updatedAtGT, timeBound.map({ (gt, UInt64.max) > $0 }) ?? true { timeBound = (gt, UInt64.max) }
        let timeStart = timeBound.map { bound in firstPosition { $0 > bound } } ?? 0

        var selected: [Int] = []
        selected.reserveCapacity(min(limit, order.count))
        var hasMore = false
        if !filters.descending {
            var start = timeStart
            if let position { start = max(start, firstPosition { $0 > (position.updatedAt, position.id) }) }
            var cursor = start
            while cursor < order.count {
                let index = order[cursor]
                cursor += 1
                guard matches(index) else { continue }
                if selected.count == limit { hasMore = true; break }
                selected.append(index)
            }
        } else {
            var end = order.count
            if let position { end = firstPosition { $0 >= (position.updatedAt, position.id) } }
            var cursor = end - 1
            while cursor >= timeStart {
                let index = order[cursor]
                cursor -= 1
                guard matches(index) else { continue }
                if selected.count == limit { hasMore = true; break }
                selected.append(index)
            }
        }
        let total: Int
        if filters.siteIds == nil && filters.ids == nil {
            total = order.count - timeStart
        } else {
            total = order[timeStart...].reduce(0) { $0 + (matches($1) ? 1 : 0) }
        }

        var body = "{\"data\":["
        body.reserveCapacity(selected.count * 6_000 + 200)
        for (number, index) in selected.enumerated() {
            if number > 0 { body += "," }
            appendItem(index, revision: revisions[index] ?? 0, updatedAt: overrides[index], to: &body)
        }
        body += "],\"pagination\":{\"nextCursor\":"
        if hasMore, let last = selected.last {
            let (updatedAt, id) = key(last)
            body += "\"" + ListCursor(updatedAt: updatedAt, id: id, filters: filters).encoded + "\""
        } else {
            body += "null"
        }
        body += ",\"totalItems\":\(total)}}"
        return body
    }

    /// A list item: the analysis `data` object of threat `index`, with `"id"` first.
    func appendItem(_ index: Int, revision: Int, updatedAt: Int64?, to output: inout String) {
        let body = analyses.body(index, revision: revision, updatedAt: updatedAt.map { TimestampText.format(micros: $0) })
        let prefix = "{\"data\":{"
        output += "{\"id\":\"" + analyses.threatId(index) + "\""
        guard body.hasPrefix(prefix), body.hasSuffix("}}") else {
            output += "}"
            return
        }
        let utf8 = body.utf8
        let start = utf8.index(utf8.startIndex, offsetBy: prefix.utf8.count)
        let end = utf8.index(before: utf8.endIndex)
        output += ","
        output += body[start..<end]
    }

    /// The list order with changes applied: untouched threats in their original order, then
    /// touched ones by their new `updatedAt` (always later than every original one).
    static func listOrder(_ table: ThreatTable, overrides: [Int: Int64]) -> [Int] {
        guard !overrides.isEmpty else { return table.baseOrder }
        var order = table.baseOrder.filter { overrides[$0] == nil }
        order += overrides.sorted { ($0.value, table.ids[$0.key]) < ($1.value, table.ids[$1.key]) }.map(\.key)
        return order
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
