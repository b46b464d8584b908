import NIOCore
import NIOHTTP1

/// Serves one connection: asks the core for a plan at each request head, waits the plan's
/// delay on the event loop once the request is complete, then answers (or misbehaves).
/// Requests on a connection are answered in order (the pipeline's pipelining assistance
/// holds later ones back), so at most one is pending here.
final class MockConsoleHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let core: MockConsoleCore
    private var plan: ResponsePlan?
    private var version = HTTPVersion.http1_1
    private var keepAlive = true
    /// An analysis request of this connection counts in `inFlight` until answered.
    private var inFlight = false
    private var active = true
    private var scheduled: Scheduled<Void>?

    init(core: MockConsoleCore) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            version = head.version
            keepAlive = head.isKeepAlive
            let plan = core.plan(for: head)
            if plan.isAnalysis { inFlight = true }
            self.plan = plan
        case .body:
            break
        case .end:
            guard let plan else { return }
            self.plan = nil
            if plan.delayMilliseconds > 0 {
                scheduled = context.eventLoop.assumeIsolated().scheduleTask(
                    in: .milliseconds(Int64(plan.delayMilliseconds))
                ) {
                    self.scheduled = nil
                    self.perform(plan.action, context: context)
                }
            } else {
                perform(plan.action, context: context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        active = false
        scheduled?.cancel()
        scheduled = nil
        finishInFlight()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func finishInFlight() {
        if inFlight {
            inFlight = false
            core.finishAnalysis()
        }
    }

    private func perform(_ action: ResponsePlan.Action, context: ChannelHandlerContext) {
        guard active else { return finishInFlight() }
        switch action {
        case .respond(let status, var headers, let body):
            let buffer = context.channel.allocator.buffer(string: body)
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            if !keepAlive {
                headers.add(name: "Connection", value: "close")
            } else if version.major == 1 && version.minor == 0 {
                headers.add(name: "Connection", value: "keep-alive")
            }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
            let close = !keepAlive
            written.futureResult.assumeIsolated().whenComplete { _ in
                self.finishInFlight()
                if close { context.close(promise: nil) }
            }
        case .drop:
            finishInFlight()
            context.close(promise: nil)
        case .truncate(let body):
            var buffer = context.channel.allocator.buffer(string: body)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            let part = buffer.readSlice(length: buffer.readableBytes / 2)!
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))), promise: nil)
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part))), promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in
                self.finishInFlight()
                context.close(promise: nil)
            }
        }
    }
}
