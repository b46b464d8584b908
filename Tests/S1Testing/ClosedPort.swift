import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback port on which nothing listens, and on which nothing can start listening while
/// the test process runs: a TCP socket bound to it and never put into listening state holds
/// it (a connection is refused, as at a closed port). The port of a mock that was shut down
/// is no such thing: another suite running in parallel (a mock, a PostgreSQL test cluster)
/// can be handed it, and a "closed port" test then finds something answering.
package enum ClosedPort {
    nonisolated(unsafe) private static var held: [Int32] = []
    private static let lock = NSLock()

    /// `scheme://127.0.0.1:PORT` for a port held closed until the process ends.
    package static func url(scheme: String = "http") -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(descriptor >= 0, "socket: \(errno)")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(bound == 0, "bind: \(errno)")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        lock.withLock { held.append(descriptor) }
        return "\(scheme)://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
    }
}
