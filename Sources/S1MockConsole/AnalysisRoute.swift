import NIOHTTP1

/// `GET /web/api/v2.1/private/threats/{id}/analysis`.
extension MockConsoleCore {
    func analysisPlan(threatId: String, method: HTTPMethod, authorized: Bool) -> ResponsePlan {
        let index = analyses.index(of: threatId)
        // One short critical section: count, take the plan and the threat's revision.
        let (attempt, plan, revision, override, withinBudget) = state.withLock { state in
            state.statistics.analysisRequests += 1
            let withinBudget = !authorized || state.takeToken()
            state.statistics.inFlight += 1
            if state.statistics.inFlight > state.statistics.peakInFlight {
                state.statistics.peakInFlight = state.statistics.inFlight
            }
            let attempt = (state.statistics.requestsByThreat[threatId] ?? 0) + 1
            state.statistics.requestsByThreat[threatId] = attempt
            let revision = index.flatMap { state.revisions[$0] } ?? 0
            let override = index.flatMap { state.updatedAtOverrides[$0] }
            return (attempt, state.plan, revision, override, withinBudget)
        }
        let normal = { () -> ResponsePlan.Action in
            guard method == .GET else { return ResponsePlan.notFound("No such endpoint: \(method) analysis") }
            guard let index, !plan.notFoundIDs.contains(threatId) else {
                return ResponsePlan.notFound("Threat \(threatId) was not found")
            }
            let updatedAt = override.map { TimestampText.format(micros: $0) }
            return .respond(status: .ok, headers: [:], body: self.analyses.body(index, revision: revision, updatedAt: updatedAt))
        }
        var fault: Fault?
        if !authorized {
            return ResponsePlan(
                delayMilliseconds: plan.latencyMilliseconds,
                action: ResponsePlan.unauthorized("Missing or invalid API token"), isAnalysis: true)
        } else if !withinBudget, let limit = plan.rateLimit {
            fault = .tooManyRequests(retryAfter: limit.retryAfter)
        } else if let every = plan.everyRequest {
            fault = every
        } else if attempt <= plan.firstAttempts.count {
            fault = plan.firstAttempts[attempt - 1]
        } else {
            fault = plan.randomFault(threatId: threatId, attempt: attempt)
        }
        guard let fault else {
            return ResponsePlan(delayMilliseconds: plan.latencyMilliseconds, action: normal(), isAnalysis: true)
        }
        let (action, extra) = ResponsePlan.action(for: fault, normal: normal)
        return ResponsePlan(delayMilliseconds: plan.latencyMilliseconds + extra, action: action, isAnalysis: true)
    }
}
