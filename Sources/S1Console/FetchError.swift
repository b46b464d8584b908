import S1Common
import S1JSON
import S1Model
/// Why fetching one analysis did not give a usable body.
public enum FetchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 401: the token is wrong or expired. Ends the run.
    case unauthorized(detail: String)
    /// 403: the token's user lacks the scope. Ends the run.
    case forbidden(detail: String)
    /// 404: the console does not know the threat (deleted or wrong ID).
    case notFound
    /// Another 4xx: the request itself is wrong; not retried.
    case rejected(status: Int, detail: String)
    /// A 3xx redirect (followed never: it would send the token elsewhere). Not retried in
    /// this run; the queue keeps the ID for a later run, once the console URL is fixed.
    case redirected(status: Int, location: String)
    /// 429: rate limited; retried after `retryAfter` when the console said.
    case rateLimited(retryAfter: Duration?)
    /// 5xx: the console failed; retried.
    case serverError(status: Int, detail: String)
    /// No connection at all: the name does not resolve, nothing listens, no route, no
    /// answer within the connect timeout, or the TLS handshake or certificate check failed.
    case cannotConnect(ConnectionFailure, detail: String)
    /// No response: the connection was reset or closed early, or another transport error.
    case transport(String)
    /// No complete response in time (connect, read or total deadline).
    case timeout(String)
    /// The body is larger than the cap.
    case tooLarge(limit: Int)
    /// A 200 whose body is not a usable analysis (truncated, not JSON, wrong threat).
    case malformedBody(String)
    /// The run stopped while the request was in flight (its grace ran out): no outcome.
    case stopped

    /// The same error with `endpoint`'s token redacted from every text it carries (a console
    /// or a library may echo the request, and so the token).
    package func redacted(by endpoint: ConsoleEndpoint) -> FetchError {
        let redact = endpoint.redactingToken
        switch self {
        case .unauthorized(let detail): return .unauthorized(detail: redact(detail))
        case .forbidden(let detail): return .forbidden(detail: redact(detail))
        case .rejected(let status, let detail): return .rejected(status: status, detail: redact(detail))
        case .serverError(let status, let detail): return .serverError(status: status, detail: redact(detail))
        case .redirected(let status, let location): return .redirected(status: status, location: redact(location))
        case .cannotConnect(let kind, let detail): return .cannotConnect(kind, detail: redact(detail))
        case .transport(let reason): return .transport(redact(reason))
        case .timeout(let reason): return .timeout(redact(reason))
        case .malformedBody(let reason): return .malformedBody(redact(reason))
        case .notFound, .rateLimited, .tooLarge, .stopped: return self
        }
    }

    /// The HTTP status, when a response came.
    public var status: Int? {
        switch self {
        case .unauthorized: return 401
        case .forbidden: return 403
        case .notFound: return 404
        case .rejected(let status, _), .serverError(let status, _), .redirected(let status, _): return status
        case .rateLimited: return 429
        case .malformedBody, .tooLarge: return 200
        case .transport, .timeout, .cannotConnect, .stopped: return nil
        }
    }

    /// Worth another attempt (later, after a back-off).
    public var isRetryable: Bool {
        switch self {
        case .rateLimited, .serverError, .transport, .timeout, .malformedBody, .cannotConnect, .redirected: return true
        case .unauthorized, .forbidden, .notFound, .rejected, .tooLarge, .stopped: return false
        }
    }

    /// Why no connection could be made, for a connection failure.
    public var connectionFailure: ConnectionFailure? {
        if case .cannotConnect(let kind, _) = self { return kind }
        return nil
    }

    /// Worth retrying within this run (a redirect is not: the next attempt gets the same).
    public var isRetryableNow: Bool {
        if case .redirected = self { return false }
        return isRetryable
    }

    /// Ends the whole run: nothing else can succeed with this token.
    public var endsRun: Bool {
        switch self {
        case .unauthorized, .forbidden: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .unauthorized(let detail):
            return "401 Authentication Failed\(detail.isEmpty ? "" : " (\(detail))"): check the API token (S1_API_TOKEN or --token-file), that it has not expired (console tokens commonly expire after 6 months), and that it belongs to this console"
        case .forbidden(let detail):
            return "403 Insufficient Permissions\(detail.isEmpty ? "" : " (\(detail))"): the token's user needs a role that can view threats, on the account or site scope of these threats"
        case .notFound: return "404 not found on the console (deleted, or not an ID of this console)"
        case .rejected(let status, let detail): return "\(status) rejected by the console: \(detail)"
        case .redirected(let status, let location):
            return "\(status) redirect to \(location.isEmpty ? "(no Location)" : location), not followed: check the console URL (scheme, host and path); the ID stays queued for a later run"
        case .rateLimited(let retryAfter):
            return "429 rate limited" + (retryAfter.map { " (Retry-After \(Int($0.components.seconds)) s)" } ?? "")
        case .serverError(let status, let detail): return "\(status) console error\(detail.isEmpty ? "" : ": \(detail)")"
        case .cannotConnect(.connectTimeout, let detail): return "timed out: \(detail)"
        case .cannotConnect(_, let detail): return "connection failed: \(detail)"
        case .transport(let reason): return "connection failed: \(reason)"
        case .timeout(let reason): return "timed out: \(reason)"
        case .tooLarge(let limit): return "response larger than \(limit >> 20) MiB (raise --max-response-mb if this is expected)"
        case .malformedBody(let reason): return "unusable response body: \(reason)"
        case .stopped: return "stopped before the console answered"
        }
    }
}

/// Why no connection to the console could be made.
public enum ConnectionFailure: String, Sendable, Equatable {
    /// The host name does not resolve.
    case dns
    /// Nothing listens on the port.
    case refused
    /// No route to the host or network.
    case unreachable
    /// No connection within the connect timeout.
    case connectTimeout
    /// The TLS handshake failed (the server does not speak TLS, or no common protocol).
    case tlsHandshake
    /// The server's certificate is not trusted or does not match.
    case certificate

    /// What to check, in plain words.
    public var advice: String {
        switch self {
        case .dns: return "check the host name in the console URL and this machine's DNS (or proxy) settings"
        case .refused: return "check the console URL's host and port, and that the console is reachable from here"
        case .unreachable: return "check the console URL and any proxy or firewall between here and the console"
        case .connectTimeout: return "check the console URL and any proxy or firewall (the host does not answer)"
        case .tlsHandshake: return "check that the URL's scheme and port are right (an https URL pointed at a plain-http port fails this way)"
        case .certificate: return "for a private CA pass --ca-file with its PEM; check that the certificate has not expired and names the URL's host"
        }
    }
}
