// swift-tools-version:6.2
// A libFuzzer harness for S1JSON's parser, in a package of its own so the normal `swift build`
// and `swift test` never see it. Built and run by scripts/fuzz-json.sh
// (`swift build -c release --sanitize fuzzer --sanitize address`).
//
// Sources/S1JSON is a symbolic link to the s1ingest package's Sources/S1JSON: the very same
// files, built here with the sanitizers. (A `.package(path: "..")` dependency would also
// build s1ingest's build-tool plugin with -sanitize=fuzzer, which cannot build its top-level
// code main.swift, and resolve all of s1ingest's dependencies for a target that needs none.)
import PackageDescription

let package = Package(
    name: "S1JSONFuzz",
    platforms: [.macOS(.v15)],
    targets: [
        .target(name: "S1JSON"),
        // No main of its own: with --sanitize fuzzer, SwiftPM builds it with -parse-as-library
        // and libFuzzer's main calls its LLVMFuzzerTestOneInput.
        .executableTarget(name: "FuzzJSON", dependencies: ["S1JSON"]),
    ]
)
