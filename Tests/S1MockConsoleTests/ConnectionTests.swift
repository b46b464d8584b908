import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import S1MockConsole
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct ConnectionTests {
    @Test func connectionsAreKeptAlive() async throws {
        let analyses = SyntheticAnalyses(count: 40)
        try await withConsole(MockConsoleConfiguration(analyses: analyses)) { console, client in
            for index in 0..<40 {
                let fetched = try await get(client, console.analysisURL(analyses.threatId(index)))
                #expect(fetched.status == 200)
            }
            #expect(console.connectionsAccepted == 1)
            #expect(console.analysisRequests == 40)
            #expect(console.inFlight == 0)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderAndLeaveNothingInFlight() async throws {
        let analyses = SyntheticAnalyses(count: 10)
        let console = try await MockConsole.start(MockConsoleConfiguration(analyses: analyses))
        let port = console.port
        let paths = [3, 4, 5].map { "/web/api/v2.1/private/threats/\(analyses.threatId($0))/analysis" }
        var requests = paths.dropLast().map { "GET \($0) HTTP/1.1\r\nHost: localhost\r\n\r\n" }.joined()
        requests += "GET \(paths.last!) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        let text = try await Task.detached { try rawExchange(port: port, send: requests) }.value
        #expect(text.components(separatedBy: "HTTP/1.1 ").count - 1 == 3)
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK\r\n").count - 1 == 3)
        let bodies = [3, 4, 5].map { analyses.body($0) }
        let positions = bodies.compactMap { text.range(of: $0)?.lowerBound }
        #expect(positions.count == 3)
        #expect(positions == positions.sorted())
        #expect(console.analysisRequests == 3)
        #expect(console.inFlight == 0)
        #expect(console.peakInFlight >= 1)
        try await console.shutdown()
    }

    @Test func truncatedBodyWithGzipStillArrivesCut() async throws {
        let analyses = SyntheticAnalyses(count: 10)
        var configuration = MockConsoleConfiguration(analyses: analyses)
        configuration.gzip = true
        configuration.faults.firstAttempts = [.truncatedBody]
        try await withConsole(configuration) { console, client in
            let clock = ContinuousClock()
            let start = clock.now
            do {
                let fetched = try await get(client, console.analysisURL(analyses.threatId(1)),
                                            headers: [("Accept-Encoding", "gzip")], timeout: .seconds(30))
                #expect(fetched.body.count < analyses.body(1).utf8.count)
            } catch {
                #expect(!(error is HTTPClientError) || (error as? HTTPClientError) != .deadlineExceeded, "\(error)")
            }
            // The cut ends the response: the client does not wait for its 30 s deadline.
            #expect(clock.now - start < .seconds(10))
            let next = try await get(client, console.analysisURL(analyses.threatId(1)), headers: [("Accept-Encoding", "gzip")])
            #expect(next.headers.first(name: "Content-Encoding") == "gzip")
            #expect(console.inFlight == 0)
        }
    }

    @Test func shutdownIsIdempotentAndClosesThePort() async throws {
        let console = try await MockConsole.start(MockConsoleConfiguration(analyses: SyntheticAnalyses(count: 1)))
        let port = console.port
        #expect(port > 0)
        #expect(console.baseURL == "http://127.0.0.1:\(port)")
        try await console.shutdown()
        try await console.shutdown()
        #expect(throws: (any Error).self) { _ = try rawExchange(port: port, send: "GET / HTTP/1.1\r\n\r\n") }
    }
}

/// Connects to 127.0.0.1:`port`, sends `send`, and reads until the server closes.
func rawExchange(port: Int, send: String) throws -> String {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw TestFailure("connect failed") }
    let bytes = Array(send.utf8)
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { throw TestFailure("write failed") }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 { throw TestFailure("read failed or timed out") }
        if count == 0 { break }
        received += chunk[0..<count]
    }
    return String(decoding: received, as: UTF8.self)
}
