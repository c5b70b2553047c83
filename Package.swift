// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// The release link of both executables (docs/architecture.md, "Memory at start"): lld, packed relative relocations,
/// no exported symbols, and the functions a start touches placed first, in the order file's order (written by
/// scripts/start-order from a profile; a name no longer in the program is skipped). The layout only moves functions
/// compiled into sections of their own: the release flags (scripts/release-flags) ask for those.
func leanLinkFlags(order: String) -> [String] {
    [
        "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
        "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/\(order)", "-Xlinker", "--no-warn-symbol-ordering",
    ]
}

let package = Package(
    name: "sealgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sealgate", targets: ["sealgate"]),
        // The unit's side of `sealgate` (seal --to, open, verify, inspect) without the department's server libraries:
        // `sealgate` runs it for those commands when it sits beside it (docs/architecture.md, "Memory at start").
        .executable(name: "sealgate-unit", targets: ["SealgateUnit"]),
        .library(name: "SealCrypto", targets: ["SealCrypto"]),
        .library(name: "SealPackage", targets: ["SealPackage"]),
        .library(name: "PartyRecords", targets: ["PartyRecords"]),
        // For the microbenchmarks' own package (Benchmarks/, `swift package --package-path Benchmarks benchmark`).
        .library(name: "TransparencyLog", targets: ["TransparencyLog"]),
        .library(name: "GatewayStore", targets: ["GatewayStore"]),
        .library(name: "GatewayCore", targets: ["GatewayCore"]),
        // make bench's load generator (scripts/bench, docs/benchmarks.md); not part of the package shipped.
        .executable(name: "sealgate-load", targets: ["LoadGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // No default traits: swift-configuration support and full Foundation are not needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // The outbound HTTP(S) client (units, auditors, the forwarder); already in the graph through Hummingbird.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // HTTP field names in the in-process route tests; already in the graph through Hummingbird.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // Reading .xlsx workbooks (the Workbook module): the zip container, streamed member by member.
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // The dashboard's server-rendered pages (templates compiled in).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // The gateway's metrics: swift-metrics' API (already in the graph through Hummingbird) over a Prometheus registry per server.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // ML-KEM-768 and X-Wing HPKE for age's post-quantum recipients (BoringSSL's; only these:
        // the rest of the crypto is libsodium's and OpenSSL's). Already in the graph through postgres-nio.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // The load generator's latency histogram (HDR, µs).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // System libraries, found through pkg-config. Only SealCrypto imports them.
        .systemLibrary(
            name: "CSodium", pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        // SQLite's C API for the store's bulk insert (the same system library GRDB links).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // PKCS#11's types and constants (p11-kit's header, libp11-kit-dev); nothing linked: a
        // token's module is dlopen'ed at run time.
        .systemLibrary(name: "CPKCS11", providers: [.apt(["libp11-kit-dev"])]),
        // zlib: the workbook reader's inflating (through SealCrypto's RawInflate, bounded).
        .systemLibrary(
            name: "CSystemZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // zlib, for the test runner only: some age test-kit vectors are zlib-compressed.
        .systemLibrary(
            name: "CZlibTesting", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        // The one retry loop around read/write/pwrite (EINTR, short writes), shared by every module doing I/O.
        .target(
            name: "SystemIO",
            swiftSettings: strictSettings),
        // The base types every layer shares: the moment (`Timestamp`) and the stable error codes.
        .target(
            name: "SealBase",
            swiftSettings: strictSettings),
        .target(
            name: "SealCrypto",
            dependencies: [
                "CSodium", "COpenSSL", "CSystemZlib", "CPKCS11", "SystemIO", "SealBase", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings),
        // The transparency log's mathematics and formats: RFC 6962 Merkle trees, proofs, C2SP checkpoints (signed notes).
        .target(
            name: "TransparencyLog",
            dependencies: ["SealBase", "SealCrypto"],
            swiftSettings: strictSettings),
        .target(
            name: "SealPackage",
            dependencies: ["SealBase", "SealCrypto", "SystemIO"],
            swiftSettings: strictSettings),
        // .xlsx workbooks read as streams: the zip members (ZIPFoundation) through a SpreadsheetML-only XML tokenizer.
        .target(
            name: "Workbook",
            dependencies: ["SealBase", "SealCrypto", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: strictSettings),
        .target(
            name: "PartyRecords",
            dependencies: ["SystemIO", "Workbook", "SealBase", "SealCrypto"],
            swiftSettings: strictSettings),
        .target(
            name: "GatewayStore",
            dependencies: [
                "SealBase", "CSQLite",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings),
        // HTTP(S) out: AsyncHTTPClient with a private CA, deadlines, bounded answers, coded errors.
        .target(
            name: "GatewayClient",
            dependencies: [
                "SealBase",
                "SealCrypto", "SystemIO", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings),
        .target(
            name: "GatewayCore",
            dependencies: [
                "SealBase",
                "SealCrypto", "SealPackage", "PartyRecords", "GatewayStore", "GatewayClient", "TransparencyLog", "SystemIO",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),
        // The department's web dashboard at /ui/ (mounted by GatewayHTTP): Mustache templates, sessions in the store.
        .target(
            name: "Dashboard",
            dependencies: [
                "SealBase", "SealCrypto", "GatewayCore", "GatewayStore", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings),
        .target(
            name: "GatewayHTTP",
            dependencies: [
                "SealBase", "SystemIO", "Dashboard",
                "GatewayCore", "GatewayStore", "SealCrypto", "SealPackage", "TransparencyLog", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings),
        // The handbook receiver: the other party's code (a stand-in and a reference for the handbook system's
        // integrators), with its own store; it reuses the gateway's package checks and listener.
        .target(
            name: "Handbook",
            dependencies: [
                "SealBase",
                "GatewayClient", "GatewayCore", "GatewayHTTP", "PartyRecords", "SealCrypto", "SealPackage",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),
        // What a unit does from its folder: the profile, the trust kept fresh, sealing with the next seq, submitting
        // and keeping receipts — for `seal`/`submit` with a profile and for the desk alike.
        .target(
            name: "UnitWork",
            dependencies: ["SealBase", "SealCrypto", "SealPackage", "PartyRecords", "Workbook", "GatewayCore", "GatewayClient"],
            swiftSettings: strictSettings),
        // The clerk's desk (`sealgate desk`): a local web app over UnitWork, on loopback, behind its own guard.
        .target(
            name: "Desk",
            dependencies: [
                "SealBase", "SealCrypto", "SealPackage", "PartyRecords", "GatewayCore", "GatewayClient", "GatewayHTTP", "UnitWork",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings),
        .executableTarget(
            name: "sealgate",
            dependencies: [
                "SealBase", "Workbook",
                "SealCrypto", "SealPackage", "PartyRecords", "GatewayStore", "GatewayCore", "GatewayHTTP", "GatewayClient", "TransparencyLog",
                "Handbook", "UnitWork", "Desk", "PackageCommands", "SystemIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["start.order"],
            swiftSettings: strictSettings,
            // Release: fewer pages resident at start (a seal 37.7 → 28.5–32 MiB peak RSS; docs/architecture.md, "Memory at
            // start"): lld's packed relative relocations (DT_RELR: 153,000 RELA entries, 3.6 MB read at every start, become
            // 32 KB), no export of the executable's own 56,000 symbols (the runtime's dladdr at start walked them all), and
            // the code run up to the hand-over to sealgate-unit laid out together (start.order, scripts/start-order).
            linkerSettings: [.unsafeFlags(leanLinkFlags(order: "Sources/sealgate/start.order"), .when(configuration: .release))]),
        // The command-line kit both executables share (options, words, coded errors) and the package commands.
        .target(
            name: "PackageCommands",
            dependencies: [
                "SealBase", "SealCrypto", "SealPackage", "PartyRecords", "Workbook",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings),
        .executableTarget(
            name: "SealgateUnit",
            dependencies: ["PackageCommands", "SealBase", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            exclude: ["start.order"],
            swiftSettings: strictSettings,
            // The code seal, open, verify and inspect run laid out together (start.order): 2.8 MiB less resident.
            linkerSettings: [.unsafeFlags(leanLinkFlags(order: "Sources/SealgateUnit/start.order"), .when(configuration: .release))]),
        // `sealgate-load`: posts package files to gateways on loopback from N keep-alive clients; rate, HDR latency, CPU per package.
        .executableTarget(
            name: "LoadGenerator",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings),

        .testTarget(
            name: "SealCryptoTests",
            dependencies: ["SealBase", "SealCrypto", "CZlibTesting"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SealPackageTests",
            dependencies: ["SealBase", "SealPackage", "SealCrypto", "SystemIO"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "PartyRecordsTests",
            dependencies: ["PartyRecords", "Workbook", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: strictSettings),
        // What the test targets share (the throwaway PostgreSQL cluster's databases).
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport",
            swiftSettings: strictSettings),
        // The fuzz targets (every parser a stranger reaches); `make fuzz` runs them under
        // libFuzzer, the tests replay their corpora (Fuzz/corpus/<target>/).
        .target(
            name: "FuzzTargets",
            dependencies: [
                "GatewayCore", "GatewayHTTP", "SealPackage", "SealCrypto", "TransparencyLog", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Fuzz/Targets",
            swiftSettings: strictSettings),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "GatewayCore", "GatewayStore", "GatewayHTTP", "GatewayClient", "SealBase", "SealPackage", "SealCrypto", "PartyRecords",
                "TestSupport",
                "FuzzTargets", "TransparencyLog", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "DashboardTests",
            dependencies: [
                "Dashboard", "SealBase", "SealCrypto", "GatewayCore", "GatewayStore", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "DeskTests",
            dependencies: ["Desk", "SealBase", "SealCrypto", "SealPackage", "PartyRecords", "GatewayCore", "UnitWork"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: [
                "LoadGenerator", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SealgateCLITests",
            dependencies: ["sealgate", "SealBase", "SealPackage", "SealCrypto", "TestSupport", "TransparencyLog"],
            swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)

// `make fuzz` only (SEALGATE_FUZZ=1): the libFuzzer executable; libFuzzer supplies `main`.
if Context.environment["SEALGATE_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "sealgate-fuzz", dependencies: ["FuzzTargets"], path: "Fuzz/Main",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])], linkerSettings: [.unsafeFlags(["-sanitize=fuzzer"])]))
}
