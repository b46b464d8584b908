import S1Common
import S1JSON
import NIOHTTP1
import S1JSON

/// What the connection handler does for one request: wait, then act.
struct ResponsePlan {
    enum Action {
        /// A complete response.
        case respond(status: HTTPResponseStatus, headers: HTTPHeaders, body: String)
        /// Close the connection without answering.
        case drop
        /// `200` announcing the whole body in `Content-Length`, then half of it, then close.
        case truncate(body: String)
        /// `200` with the head at once, then the body one byte every `interval` milliseconds.
        case trickle(body: String, interval: Int)
    }

    /// How long to wait before acting (latency plus any slow-response fault).
    var delayMilliseconds: Int
    var action: Action
    /// Whether this is an analysis request counted in ``MockConsole/inFlight``.
    var isAnalysis: Bool

    /// `{"errors":[{"code":...,"title":"...","detail":"..."}]}` with the given status.
    static func error(
        _ status: HTTPResponseStatus, code: Int, title: String, detail: String, headers: HTTPHeaders = [:]
    ) -> Action {
        .respond(status: status, headers: headers, body: errorsBody(code: code, title: title, detail: detail))
    }

    /// A `404` (code 4040010) errors body.
    static func notFound(_ detail: String) -> Action {
        error(.notFound, code: 4_040_010, title: "Not Found", detail: detail)
    }

    /// A `400` (code 4000010) errors body.
    static func badRequest(_ detail: String) -> Action {
        error(.badRequest, code: 4_000_010, title: "Validation Error", detail: detail)
    }

    /// A `401` (code 4010010) errors body.
    static func unauthorized(_ detail: String) -> Action {
        error(.unauthorized, code: 4_010_010, title: "Authentication Failed", detail: detail)
    }

    /// The action of `fault`; `normal` builds the answer the request would otherwise get
    /// (needed for truncated, malformed and slow responses). Returns the action and any
    /// extra delay.
    static func action(for fault: Fault, normal: () -> Action) -> (action: Action, extraDelay: Int) {
        switch fault {
        case .tooManyRequests(let retryAfter):
            var headers = HTTPHeaders()
            switch retryAfter {
            case .seconds(let seconds)?: headers.add(name: "Retry-After", value: String(seconds))
            case .httpDate(let secondsFromNow)?:
                let now = Int64(currentUnixSeconds())
                headers.add(name: "Retry-After", value: TimestampText.httpDate(secondsSince1970: now + Int64(secondsFromNow)))
            case .raw(let value)?: headers.add(name: "Retry-After", value: value)
            case nil: break
            }
            return (error(.tooManyRequests, code: 4_290_010, title: "Too Many Requests",
                          detail: "Rate limit exceeded, try again later", headers: headers), 0)
        case .serverError(let status):
            let code = HTTPResponseStatus(statusCode: status)
            return (error(code, code: status * 10_000 + 10, title: code.reasonPhrase.isEmpty ? "Server Error" : code.reasonPhrase,
                          detail: "Injected server error"), 0)
        case .dropConnection:
            return (.drop, 0)
        case .truncatedBody:
            if case .respond(_, _, let body) = normal() { return (.truncate(body: body), 0) }
            return (.drop, 0)
        case .malformedBody:
            var body = "{\"data\":{\"threatInfo\":"
            if case .respond(_, _, let normalBody) = normal() { body = String(decoding: normalBody.utf8.prefix(normalBody.utf8.count / 2), as: UTF8.self) }
            return (.respond(status: .ok, headers: [:], body: body + "<!-- upstream error -->"), 0)
        case .slowResponse(let milliseconds):
            return (normal(), max(0, milliseconds))
        case .redirect(let status, let location):
            return (.respond(status: HTTPResponseStatus(statusCode: status), headers: ["Location": location], body: ""), 0)
        case .trickleBody(let interval):
            if case .respond(_, _, let body) = normal() { return (.trickle(body: body, interval: max(1, interval)), 0) }
            return (.drop, 0)
        case .unauthorized:
            return (unauthorized("Authentication failed (injected fault)"), 0)
        case .forbidden:
            return (error(.forbidden, code: 4_030_010, title: "Insufficient Permissions",
                          detail: "The API token lacks the permissions for this request"), 0)
        }
    }
}

/// `{"errors":[{"code":<code>,"title":"<title>","detail":"<detail>"}]}`.
func errorsBody(code: Int, title: String, detail: String) -> String {
    "{\"errors\":[{\"code\":\(code),\"title\":\(jsonStringLiteral(title)),\"detail\":\(jsonStringLiteral(detail))}]}"
}

/// Whole seconds since 1970 from the system clock.
func currentUnixSeconds() -> Int {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int(spec.tv_sec)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
