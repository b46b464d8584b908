import S1Storage
import S1Common
import S1JSON
import S1Model
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Buffered bytes to a file descriptor (a file or standard output), flushed in 1 MiB writes,
/// so an export of any size holds at most about one buffer in memory.
public final class OutputSink {
    /// The file path, or `-` for standard output.
    public let name: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// Bytes not yet written.
    private var buffer: [UInt8] = []
    package static let flushThreshold = 1 << 20

    /// Standard output.
    public static func standardOutput() -> OutputSink { OutputSink(name: "-", descriptor: 1, owns: false) }

    /// Creates (or truncates) the file at `path`.
    public convenience init(creatingFile path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ExportError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
        self.init(name: path, descriptor: descriptor, owns: true)
    }

    private init(name: String, descriptor: Int32, owns: Bool) {
        self.name = name
        self.descriptor = descriptor
        self.ownsDescriptor = owns
        buffer.reserveCapacity(Self.flushThreshold + 64 * 1024)
    }

    deinit {
        try? flush()
        if ownsDescriptor { close(descriptor) }
    }

    /// Appends UTF-8 text.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
    }

    /// Writes `bytes` (after anything buffered) straight to the file.
    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        try flush()
        try writeAll(bytes)
    }

    /// Writes everything buffered.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ExportError.writeFailed(path: name, reason: String(cString: strerror(errno)))
            }
            offset += written
        }
    }
}
