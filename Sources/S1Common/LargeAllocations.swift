#if canImport(Glibc)
import Glibc
#endif

/// Makes glibc give large blocks (1 MiB and more: response bodies, a large document's nodes
/// and rows) back to the system when they are freed. By default glibc raises its mmap
/// threshold to the largest block freed so far (up to 32 MiB), after which blocks of that
/// size come from the heap and stay resident once freed: a run fetching 31 MB bodies kept
/// about 90 MB more than one document needs. Call once, before the work starts.
public enum LargeAllocations {
    public static func returnToSystemWhenFreed() {
        #if canImport(Glibc)
        // mallopt(M_MMAP_THRESHOLD, 1 MiB); malloc.h is not part of the Glibc module.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 1 << 20)
        #endif
    }
}
