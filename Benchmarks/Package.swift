// swift-tools-version: 6.1
// sealgate's microbenchmarks (#25 item 1): the hot paths with ordo-one's package-benchmark,
// wall clock and allocation counts. A package of its own, so that `swift build` and `make test`
// never build it: `swift package --package-path Benchmarks benchmark` (scripts/bench, section
// `micro`; docs/benchmarks.md, "Microbenchmarks").
import PackageDescription

let package = Package(
    name: "sealgate-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "sealgate", path: ".."),
        // The malloc interposer only: the Swift 6.3 runtime interposer (ARC counts) is not in the package cache,
        // and no benchmark here reads retain/release counts.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // What both benchmark targets set up: a unit's data, keys and packages sealed from them, in a temporary folder.
        .target(
            name: "MicroFixtures",
            dependencies: [
                .product(name: "SealCrypto", package: "sealgate"), .product(name: "SealPackage", package: "sealgate"),
                .product(name: "PartyRecords", package: "sealgate"),
            ]),
        // Open and verify of a small package, the log's Merkle work, a minisign signature (no server libraries: a quick build).
        .executableTarget(
            name: "PackageAndLog",
            dependencies: [
                "MicroFixtures", .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SealCrypto", package: "sealgate"), .product(name: "SealPackage", package: "sealgate"),
                .product(name: "TransparencyLog", package: "sealgate"),
            ],
            path: "Benchmarks/PackageAndLog",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        // The intake's decision on a small package (SQLite in a temporary folder) and a receipt's signature (GatewayCore).
        .executableTarget(
            name: "Intake",
            dependencies: [
                "MicroFixtures", .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SealCrypto", package: "sealgate"), .product(name: "SealPackage", package: "sealgate"),
                .product(name: "GatewayStore", package: "sealgate"), .product(name: "GatewayCore", package: "sealgate"),
                .product(name: "TransparencyLog", package: "sealgate"),
            ],
            path: "Benchmarks/Intake",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ],
    swiftLanguageModes: [.v6]
)
