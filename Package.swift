// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "streamctl",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "streamctl", targets: ["streamctl"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // System libraries, found through pkg-config (Debian: librdkafka-dev, librocksdb-dev, libjemalloc-dev).
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb", providers: [.apt(["librocksdb-dev"])]),
        .systemLibrary(name: "CJemalloc", pkgConfig: "jemalloc", providers: [.apt(["libjemalloc-dev"])]),

        // Records, schemas, codecs, expressions, operators and the threaded runtime. Knows no C library.
        .target(name: "StreamCore", dependencies: [.product(name: "HeapModule", package: "swift-collections")]),
        // The pipeline file: YAML model, strict validation with positions.
        .target(name: "StreamPipeline", dependencies: ["StreamCore", "Yams"]),
        // Kafka source and sink, embedded broker (librdkafka mock cluster).
        .target(
            name: "StreamKafka",
            dependencies: ["StreamCore", "CRdKafka", .product(name: "Logging", package: "swift-log")]),
        // RocksDB keyed state and the memory budget.
        .target(name: "StreamState", dependencies: ["StreamCore", "CRocksDB", "CRocksShim", "CJemalloc"]),
        // C++ additions to RocksDB's C API (write buffer manager charged to the block cache).
        .target(name: "CRocksShim", linkerSettings: [.linkedLibrary("rocksdb")]),
        // File and stdout sinks.
        .target(name: "StreamSinks", dependencies: ["StreamCore"]),
        // Allocator statistics, metrics rendering.
        .target(name: "StreamOps", dependencies: ["StreamCore", "CJemalloc"]),
        // The job's lifecycle: assembly of the parts, start, supervision, stop, restart, the summary.
        .target(
            name: "StreamRunner",
            dependencies: [
                "StreamCore", "StreamPipeline", "StreamKafka", "StreamState", "StreamSinks", "StreamOps", "StreamControl",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // `streamctl export flink-sql`: the pipeline as a Flink SQL script.
        .target(name: "StreamExport", dependencies: ["StreamCore", "StreamPipeline"]),
        // The control endpoint (HTTP on loopback): /status, /metrics, heap dumps; the client the commands use.
        .target(
            name: "StreamControl",
            dependencies: [
                "StreamCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        // jemalloc's configuration for the executable (the `malloc_conf` symbol).
        .target(name: "CMallocConf"),
        .executableTarget(
            name: "streamctl",
            dependencies: [
                "CMallocConf",
                "StreamCore", "StreamPipeline", "StreamKafka", "StreamState", "StreamSinks", "StreamOps",
                "StreamRunner",
                "StreamExport", "StreamControl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            // jemalloc linked into the executable replaces glibc malloc for the whole process.
            linkerSettings: [.linkedLibrary("jemalloc")]
        ),

        .testTarget(name: "StreamCoreTests", dependencies: ["StreamCore"]),
        .testTarget(
            name: "StreamPipelineTests", dependencies: ["StreamPipeline", "StreamCore"], exclude: ["Fixtures"]),
        .testTarget(name: "StreamKafkaTests", dependencies: ["StreamKafka", "StreamCore", "CRdKafka"]),
        .testTarget(name: "StreamStateTests", dependencies: ["StreamState", "StreamCore", "StreamOps"]),
        .testTarget(name: "StreamSinksTests", dependencies: ["StreamSinks", "StreamCore"]),
        .testTarget(
            name: "StreamRunnerTests",
            dependencies: ["StreamRunner", "StreamPipeline", "StreamCore", "StreamKafka", "StreamState"]),
        .testTarget(name: "StreamExportTests", dependencies: ["StreamExport", "StreamPipeline", "StreamCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["StreamCore"]),
        .testTarget(
            name: "StreamControlTests",
            dependencies: ["StreamControl", "StreamRunner", "StreamPipeline", "StreamCore", "StreamOps"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
