import S1JSON
import S1Common
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file descriptor in chunks. `-` opens standard input.
package final class ByteSource {
    package let name: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool

    package init(path: String) throws(InputError) {
        if path == "-" {
            name = "stdin"
            descriptor = 0
            ownsDescriptor = false
        } else {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            var info = stat()
            if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
                close(fd)
                throw .cannotOpen(path: path, reason: "it is a directory")
            }
            name = path
            descriptor = fd
            ownsDescriptor = true
        }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
        chunk?.deallocate()
    }

    private var chunk: UnsafeMutableRawBufferPointer?

    /// Appends up to `count` bytes to `buffer`; returns how many (0 at end of input).
    package func read(into buffer: inout [UInt8], count: Int) throws(InputError) -> Int {
        if chunk == nil || chunk!.count < count {
            chunk?.deallocate()
            chunk = .allocate(byteCount: count, alignment: 16)
        }
        let chunk = self.chunk!
        while true {
            let n = Glibc.read(descriptor, chunk.baseAddress!, count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .readFailed(path: name, reason: String(cString: strerror(errno))) }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            return n
        }
    }
}
