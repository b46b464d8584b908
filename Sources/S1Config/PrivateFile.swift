#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a small file whole, with its checks done on the open file (no gap between the check
/// and the read for the file to be swapped in).
enum PrivateFile {
    enum Failure: Error {
        case system(String)
        case notRegular
        case tooLarge
        /// Permission bits of `refusingMode` are set; the file's permission bits.
        case openToOthers(mode: UInt32)
    }

    /// The bytes of the regular file at `path` (symbolic links followed), at most `maxBytes`.
    /// With `refusingMode`, a file with any of those permission bits is refused before it is read.
    static func readAll(path: String, maxBytes: Int, refusingMode: UInt32 = 0) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw .system(String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system(String(cString: strerror(errno))) }
        guard (UInt32(info.st_mode) & UInt32(S_IFMT)) == UInt32(S_IFREG) else { throw .notRegular }
        let permissions = UInt32(info.st_mode) & 0o7777
        if permissions & refusingMode != 0 { throw .openToOthers(mode: permissions) }
        guard Int(info.st_size) <= maxBytes else { throw .tooLarge }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
            guard bytes.count <= maxBytes else { throw .tooLarge }
        }
        return bytes
    }
}
