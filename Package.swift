// swift-tools-version:6.2
import PackageDescription

// The pipeline is cut into targets; in release builds each exports the bodies of its
// functions so the hot paths (JSON values, timestamps, flattened rows, SQLite binds) inline
// across target boundaries as they did in one module (scripts/bench-compare.sh measures it).
let acrossTargets: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

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
        // The consoles file (`sync --consoles FILE`) is TOML.
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        // Tests only: an independent CSV reader to parse exports back.
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.2"),
        // The PostgreSQL backend (S1Postgres).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
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
        // The pipeline, one target per stage; dependencies run one way, down the pipeline
        // (ARCHITECTURE.md draws the graph and says which target owns what).
        // JSON: a strict parser that keeps exact bytes, values, equivalence, the one escaper.
        .target(name: "S1JSON", swiftSettings: acrossTargets),
        // Time, durations, the stop request, bounded channels: used by every stage.
        .target(name: "S1Common", swiftSettings: acrossTargets),
        // The model: reading documents, decoding analyses, flattening them into rows (no SQL).
        .target(name: "S1Model", dependencies: ["S1JSON", "S1Common"], swiftSettings: acrossTargets),
        // The console client: requests, retries, deadlines, pacing, listing.
        .target(
            name: "S1Console",
            dependencies: [
                "S1Common", "S1JSON", "S1Model",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: acrossTargets
        ),
        // The storage boundary: the protocols a backend implements and the records they keep.
        .target(name: "S1Storage", dependencies: ["S1Common", "S1Model"], swiftSettings: acrossTargets),
        // The SQLite store: every SQL string of the write path and every SQLite type.
        .target(
            name: "S1SQLite",
            dependencies: ["S1Common", "S1JSON", "S1Model", "S1Storage", "CSQLite", "CSQLiteSupport"],
            swiftSettings: acrossTargets,
            plugins: ["EmbedMigrations"]
        ),
        // The PostgreSQL store: its SQL, its migrations (migrations/postgresql/, embedded) and
        // the postgres-nio connection behind the same protocols.
        .target(
            name: "S1Postgres",
            dependencies: [
                "S1Common", "S1JSON", "S1Model", "S1Storage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: acrossTargets,
            plugins: ["EmbedMigrations"]
        ),
        // The pipelines: import, ingest, sync, rebuild, check, metrics.
        .target(
            name: "S1Pipeline",
            dependencies: [
                "S1Common", "S1JSON", "S1Model", "S1Console", "S1Storage",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: acrossTargets
        ),
        // Reading the database: query, canned reports, the HTML report, exports.
        .target(name: "S1Report", dependencies: ["S1Common", "S1JSON", "S1Model", "S1Storage"], swiftSettings: acrossTargets),
        // The consoles file (TOML): names, URLs, token files, per-console limits; reading tokens.
        .target(
            name: "S1Config",
            dependencies: ["S1Common", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        // One import for programs and tests: re-exports every target above.
        .target(
            name: "S1IngestCore",
            dependencies: ["S1JSON", "S1Common", "S1Model", "S1Console", "S1Storage", "S1SQLite", "S1Postgres", "S1Pipeline", "S1Report", "S1Config"]
        ),
        // A SentinelOne console look-alike over real HTTP/1.1, for the demo and tests.
        .target(
            name: "S1MockConsole",
            dependencies: [
                "S1Common",
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
        // Tests mirror the targets: one test target per source target, and one target of
        // shared helpers (temporary directories, fixtures, a mock console with a database).
        .target(
            name: "S1Testing",
            dependencies: ["S1IngestCore", "S1MockConsole", "CSQLite", "CSQLiteSupport"],
            path: "Tests/S1Testing",
            exclude: ["Fixtures/SOURCES.md"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "S1JSONTests",
            dependencies: ["S1JSON", "S1Testing", "S1IngestCore", "CSQLite", "CSQLiteSupport"],
            // nst/JSONTestSuite's test_parsing cases (provenance in JSONTestSuite/SOURCES.md).
            resources: [.copy("JSONTestSuite")]
        ),
        .testTarget(name: "S1CommonTests", dependencies: ["S1Testing", "S1IngestCore", "CSQLite", "CSQLiteSupport"]),
        .testTarget(name: "S1ModelTests", dependencies: ["S1Testing", "S1IngestCore", "CSQLite", "CSQLiteSupport"]),
        .testTarget(name: "S1ConsoleTests", dependencies: ["S1Testing", "S1IngestCore", "S1MockConsole", "CSQLite", "CSQLiteSupport"]),
        .testTarget(name: "S1SQLiteTests", dependencies: ["S1Testing", "S1IngestCore", "S1MockConsole", "CSQLite", "CSQLiteSupport"]),
        .testTarget(name: "S1ConfigTests", dependencies: ["S1Testing", "S1Config"]),
        // The PostgreSQL store against a throwaway cluster (S1Testing's PostgresCluster).
        .testTarget(name: "S1PostgresTests", dependencies: ["S1Testing", "S1IngestCore", "S1Postgres", "CSQLite", "CSQLiteSupport"]),
        .testTarget(name: "S1PipelineTests", dependencies: ["S1Testing", "S1IngestCore", "S1MockConsole", "CSQLite", "CSQLiteSupport"]),
        // The mock console over real loopback HTTP.
        .testTarget(
            name: "S1MockConsoleTests",
            dependencies: [
                "S1MockConsole",
                "S1Testing",
                "S1IngestCore",
                "CSQLite",
                "CSQLiteSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Views, export, query and report.
        .testTarget(
            name: "S1ReportTests",
            dependencies: ["S1Testing", "S1IngestCore", "S1MockConsole", "CSQLite", "CSQLiteSupport", .product(name: "CSV", package: "CSV.swift")]
        ),
        // The real s1ingest binary, run as a process. `swift test` builds it; no dependency
        // on the executable target, whose -static-stdlib would reach the test bundle's link.
        .testTarget(
            name: "S1IngestCLITests",
            dependencies: ["S1Testing", "S1IngestCore", "S1MockConsole", "CSQLite", "CSQLiteSupport"],
            // A C helper the sandbox tests compile and run themselves (needs libseccomp-dev).
            exclude: ["Support/seccomp-exec.c"]
        ),
    ]
)
