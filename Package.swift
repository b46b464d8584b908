// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "s1ingest",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "s1ingest", targets: ["s1ingest"]),
        .library(name: "S1JSON", targets: ["S1JSON"]),
        .library(name: "S1IngestCore", targets: ["S1IngestCore"]),
        .library(name: "S1MockConsole", targets: ["S1MockConsole"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // The Prometheus text format of --metrics-file.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Tests only: an independent CSV reader to parse exports back.
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.2"),
    ],
    targets: [
        // The system libsqlite3 (Debian: libsqlite3-dev).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // sqlite3_config (variadic, so C): process-wide SQLite settings.
        .target(name: "CSQLiteSupport", dependencies: ["CSQLite"]),
        // Turns migrations/*.sql into Swift string literals at build time, so the
        // binary carries its schema and migrations/ stays the one source of truth.
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),
        // The JSON parser (strict RFC 8259, keeps exact bytes), its values and the one JSON
        // string escaper. Depends on nothing; Fuzz/ holds its libFuzzer harness.
        .target(name: "S1JSON"),
        // The library core: input -> fetch -> decode -> flatten -> store -> report/export.
        .target(
            name: "S1IngestCore",
            dependencies: [
                "S1JSON",
                "CSQLite",
                "CSQLiteSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // A SentinelOne console look-alike over real HTTP/1.1, for the demo and tests.
        .target(
            name: "S1MockConsole",
            dependencies: [
                "S1IngestCore",
                "S1JSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The thin command line: each subcommand parses options and calls the core.
        .executableTarget(
            name: "s1ingest",
            dependencies: [
                "S1IngestCore",
                "S1JSON",
                "S1MockConsole",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The Swift runtime, Foundation and Dispatch are linked in, so the binary runs
            // on a machine without a Swift toolchain (StaticBinaryTests checks it).
            swiftSettings: [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux]))],
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux]))]
        ),
        // The JSON parser: its own tests and nst/JSONTestSuite's test_parsing cases.
        .testTarget(
            name: "S1JSONTests",
            dependencies: ["S1JSON"],
            resources: [.copy("JSONTestSuite")]
        ),
        // Tests mirror the source folders: input, decode, flatten, store, import, fetch, ...
        .testTarget(
            name: "S1IngestCoreTests",
            dependencies: ["S1IngestCore", "S1JSON", "S1MockConsole"],
            resources: [.copy("Fixtures")]
        ),
        // The mock console over real loopback HTTP.
        .testTarget(
            name: "S1MockConsoleTests",
            dependencies: [
                "S1MockConsole",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Views, export, query and report.
        .testTarget(
            name: "S1ReportTests",
            dependencies: ["S1IngestCore", "S1MockConsole", .product(name: "CSV", package: "CSV.swift")]
        ),
        // The real s1ingest binary, run as a process. `swift test` builds it; no dependency
        // on the executable target, whose -static-stdlib would reach the test bundle's link.
        .testTarget(
            name: "S1IngestCLITests",
            dependencies: ["S1IngestCore", "S1MockConsole"],
            // A C helper the sandbox tests compile and run themselves (needs libseccomp-dev).
            exclude: ["Support/seccomp-exec.c"]
        ),
    ]
)
