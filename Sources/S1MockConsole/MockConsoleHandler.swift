import NIOCore
import NIOHTTP1

/// Serves one connection: asks the core for a plan at each request head, waits the plan's
/// delay on the event loop once the request is complete, then answers (or misbehaves).
/// Requests on a connection are answered in order (the pipeline's pipelining assistance
/// holds later ones back), so at most one is pending here.
final class MockConsoleHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// A request whose head has arrived, waiting for its end.
    private struct Pending {
        var plan: ResponsePlan
        var version: HTTPVersion
        var keepAlive: Bool
    }

    /// A response header that keeps the response away from gzip (removed before sending).
    static let uncompressedMarker = "X-Mock-Console-Uncompressed"

    private let core: MockConsoleCore
    private var pending: Pending?
    /// Analysis requests of this connection counted in `inFlight` and not yet answered.
    /// (A count, not a flag: the next pipelined request's head is delivered while the
    /// previous response's end is being written.)
    private var analysesInFlight = 0
    private var active = true
    private var scheduled: Scheduled<Void>?

    init(core: MockConsoleCore) {
        self.core = core
    }

    func channelActive(context: ChannelHandlerContext) {
        core.state.withLock { $0.statistics.connectionsAccepted += 1 }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let plan = core.plan(for: head)
            if plan.isAnalysis { analysesInFlight += 1 }
            pending = Pending(plan: plan, version: head.version, keepAlive: head.isKeepAlive)
        case .body:
            break
        case .end:
            guard let request = pending else { return }
            pending = nil
            if request.plan.delayMilliseconds > 0 {
                scheduled = context.eventLoop.assumeIsolated().scheduleTask(
                    in: .milliseconds(Int64(request.plan.delayMilliseconds))
                ) {
                    self.scheduled = nil
                    self.perform(request, context: context)
                }
            } else {
                perform(request, context: context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        active = false
        scheduled?.cancel()
        scheduled = nil
        if analysesInFlight > 0 {
            core.finishAnalyses(analysesInFlight)
            analysesInFlight = 0
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// One analysis request of this connection is answered (or given up).
    private func finished(_ request: Pending) {
        if request.plan.isAnalysis && analysesInFlight > 0 {
            analysesInFlight -= 1
            core.finishAnalyses(1)
        }
    }

    private func perform(_ request: Pending, context: ChannelHandlerContext) {
        guard active else { return }
        let version = request.version
        switch request.plan.action {
        case .respond(let status, var headers, let body):
            let buffer = context.channel.allocator.buffer(string: body)
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            headers.add(name: "Date", value: TimestampText.httpDate(secondsSince1970: Int64(currentUnixSeconds())))
            if !request.keepAlive {
                headers.add(name: "Connection", value: "close")
            } else if version.major == 1 && version.minor == 0 {
                headers.add(name: "Connection", value: "keep-alive")
            }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            // No longer in flight once the response is handed to the socket: done before the
            // flush, so a client can never see the answer while the request still counts.
            finished(request)
            if request.keepAlive {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let written = context.eventLoop.makePromise(of: Void.self)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
                written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
        case .drop:
            finished(request)
            context.close(promise: nil)
        case .truncate(let body):
            var buffer = context.channel.allocator.buffer(string: body)
            var headers = HTTPHeaders()
            headers.add(name: Self.uncompressedMarker, value: "1")
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            let part = buffer.readSlice(length: buffer.readableBytes / 2)!
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))), promise: nil)
            finished(request)
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part))), promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .trickle(let body, let interval):
            var headers = HTTPHeaders()
            headers.add(name: Self.uncompressedMarker, value: "1")
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))), promise: nil)
            finished(request)
            trickle(Array(body.utf8)[...], interval: interval, context: context)
        }
    }

    /// Sends `bytes` one at a time, `interval` milliseconds apart, until done or the
    /// connection closes; then ends the response.
    private func trickle(_ bytes: ArraySlice<UInt8>, interval: Int, context: ChannelHandlerContext) {
        guard active else { return }
        guard let first = bytes.first else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: [first])))), promise: nil)
        scheduled = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(interval))) {
            self.scheduled = nil
            self.trickle(bytes.dropFirst(), interval: interval, context: context)
        }
    }
}
