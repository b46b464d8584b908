import Foundation
import S1IngestCore
import S1Testing
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The binary carries the Swift runtime: it runs where no Swift toolchain is installed.
///
/// Runs the built binary in a mount namespace (`unshare -m`; `unshare -r -m` when not root)
/// where an empty tmpfs covers every toolchain folder this test process loaded Swift
/// libraries from (`/proc/self/maps`), as on a server without Swift.
@Suite struct StaticBinaryTests {
    /// Folders of the Swift toolchain's shared libraries (libswiftCore.so, Foundation, Dispatch).
    static func toolchainLibraryFolders() throws -> [String] {
        // Read to the end: /proc files report size 0, and one read can return a part.
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/maps"))
        defer { try? handle.close() }
        let maps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var folders = Set<String>()
        for line in maps.split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/") else { continue }
            let path = String(line[slash...])
            let file = (path as NSString).lastPathComponent
            let runtime = ["libswift", "libFoundation", "lib_FoundationICU", "libdispatch", "libBlocksRuntime"]
            guard runtime.contains(where: { file.hasPrefix($0) }), path.contains("swift") else { continue }
            folders.insert((path as NSString).deletingLastPathComponent)
        }
        return folders.sorted()
    }

    @Test func runsWithTheSwiftToolchainOutOfReach() async throws {
        let folders = try Self.toolchainLibraryFolders()
        try #require(!folders.isEmpty, "no Swift runtime library found in /proc/self/maps")
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let binary = BinaryRunner.executable.path

        let ldd = try Sandbox.capture("/usr/bin/env", ["ldd", binary])
        for folder in folders {
            #expect(!ldd.contains(folder + "/"), "the binary still loads libraries from \(folder):\n\(ldd)")
        }

        // Hide the folders, check they are empty, then run the binary.
        let script = #"""
            set -eu
            binary=$1; dir=$2; shift 2
            for folder in "$@"; do
                mount -t tmpfs -o size=1m,mode=0755 no-swift "$folder"
                if [ -e "$folder/libswiftCore.so" ]; then echo "still visible: $folder" >&2; exit 90; fi
            done
            "$binary" --version
            "$binary" migrate --db "$dir/migrated.sqlite"
            "$binary" demo --threats 20 --db "$dir/demo.sqlite" >"$dir/demo.out"
            "$binary" query --db "$dir/demo.sqlite" "SELECT count(*) AS stored FROM threats"
            """#
        let unshare = geteuid() == 0 ? ["unshare", "-m"] : ["unshare", "-r", "-m"]
        let result = try runProcess("/usr/bin/env", unshare + ["/bin/sh", "-c", script, "sh", binary, directory.url.path] + folders)
        let stdout = result.stdout, stderr = result.stderr

        #expect(result.status == 0, "with \(folders) hidden:\n\(stderr)")
        #expect(stdout.hasPrefix(S1IngestVersion.current + "\n"), "\(stdout)")
        #expect(stdout.contains("20"), "\(stdout)")
        #expect(FileManager.default.fileExists(atPath: directory.path("migrated.sqlite")))
    }
}
