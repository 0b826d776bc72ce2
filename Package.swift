// swift-tools-version:6.0
import PackageDescription

/// Settings of FTKernels, the one target of numeric kernels: no overflow or bounds checks in
/// release, and on x86-64 the AVX2/FMA instruction set (Haswell's, which every x86 server CPU since
/// 2015 has), so a SIMD8<Float> is one 256-bit register rather than two SSE halves and 32-bit lane
/// multiplies (the dropout mask hash) are one instruction.
#if arch(x86_64)
    let kernelSettings: [SwiftSetting] = [
        .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
        .unsafeFlags(["-target-cpu", "haswell"]),
    ]
#else
    let kernelSettings: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
#endif

/// Settings of the targets around the kernels (FTCore, FTModel, FTTrain, FTDist): checked, because
/// they parse untrusted files (safetensors headers, CSV, JSONL, YAML configs, vocabularies) and
/// orchestrate; a bad offset or count there must trap, not read past a buffer. They keep Haswell's
/// instruction set on x86-64: they inline FTKernels' `@inlinable` SIMD helpers (`VectorMath`),
/// which without AVX2/FMA would split each SIMD8<Float> into SSE halves and turn each fused
/// multiply-add into a libm call per lane.
#if arch(x86_64)
    let checkedSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
    let checkedSettings: [SwiftSetting] = []
#endif

let package = Package(
    name: "fttrain",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fttrain", targets: ["fttrain"]),
        .library(name: "FTCore", targets: ["FTCore"]),
        .library(name: "FTModel", targets: ["FTModel"]),
        .library(name: "FTTrain", targets: ["FTTrain"]),
        .library(name: "FTDist", targets: ["FTDist"]),
        .library(name: "FTDistTraining", targets: ["FTDistTraining"]),
        .library(name: "FTFederated", targets: ["FTFederated"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // SHA-256 of checkpoint files: BoringSSL's assembly hashes hundreds of MB in a second,
        // even in debug builds (a Swift loop there manages ~5 MB/s).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // ONNX export and TensorBoard event files: the message code generated from their .proto files
        // is committed (no plugin build).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // `fttrain serve`: HTTP server, Prometheus text metrics, graceful shutdown on SIGTERM.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // `fttrain federated serve|join`: framed messages over TCP with mutual TLS.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // `fttrain federated-keygen`: the federation's CA and the certificates it signs (no openssl).
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // MARK: - System libraries (pkg-config)
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // oneDNN (no pkg-config file in Debian's libdnnl-dev): low-precision matrix products.
        .systemLibrary(
            name: "CDNNL",
            providers: [.apt(["libdnnl-dev"])]),

        // MARK: - INT8 product kernels (C: AVX-512 VNNI intrinsics Swift cannot emit, and a portable path)
        .target(
            name: "CInt8",
            cSettings: [.unsafeFlags(["-O3"])]),

        // MARK: - Slice threads that spin before they park (C: `pause` and futexes)
        .target(name: "CSpinPool", cSettings: [.unsafeFlags(["-O2"])]),

        // MARK: - Kernels: BLAS, vector math, slice threads, layers, optimizer and all-reduce loops
        .target(
            name: "FTKernels", dependencies: ["CBLAS", "CDNNL", "CInt8", "CSpinPool"],
            swiftSettings: kernelSettings),

        // MARK: - Core: buffers, RNG, safetensors (re-exports FTKernels)
        .target(
            name: "FTCore", dependencies: ["FTKernels", "CBLAS"],
            swiftSettings: checkedSettings),

        // MARK: - Model: tokenizer, encoder, PEFT (the layers' kernels are in FTKernels)
        .target(
            name: "FTModel", dependencies: ["FTCore"],
            swiftSettings: checkedSettings),

        // MARK: - Training: data, optimizer, schedules, metrics, configuration
        .target(
            name: "FTTrain",
            dependencies: [
                "FTModel", .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: checkedSettings),

        // MARK: - Distributed: communicators (in-process, MPI) and the ring all-reduce
        .target(
            name: "FTDist", dependencies: ["FTCore", "CMPI"],
            swiftSettings: checkedSettings),

        // MARK: - Distributed training: FTDist's communicators as FTTrain's `TrainingWorld`
        .target(name: "FTDistTraining", dependencies: ["FTTrain", "FTDist"]),

        // MARK: - Federated: site partitions, aggregation of LoRA updates
        .target(
            name: "FTFederated",
            dependencies: [
                "FTCore", "FTTrain", "FTDist", "FTDistTraining", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ]),

        // MARK: - Serving: `fttrain serve` (HTTP routes, dynamic batching, limits, metrics)
        .target(
            name: "FTServe",
            dependencies: [
                "FTModel", "FTTrain", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: checkedSettings),

        // MARK: - Command-line tool
        .executableTarget(
            name: "fttrain",
            dependencies: [
                "FTCore", "FTModel", "FTTrain", "FTDist", "FTDistTraining", "FTFederated", "CMPI", "FTServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - MPI test tool (not a shipped product): ring all-reduce vs MPI_Allreduce under mpirun
        .executableTarget(
            name: "fttrain-dist-check",
            dependencies: [
                "FTDist", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Tests
        .target(name: "TestSupport", dependencies: ["FTCore", "FTModel"], path: "Tests/TestSupport"),
        .testTarget(
            name: "FTTrainTests",
            dependencies: [
                "FTTrain", "FTDist", "FTDistTraining", "TestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),  // ONNXExportTests reads the files back
            ],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "FTDistTests", dependencies: ["FTDist", "TestSupport"]),
        .testTarget(
            name: "FTCoreTests", dependencies: ["FTCore", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "FTModelTests", dependencies: ["FTModel", "TestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "FTFederatedTests",
            dependencies: ["FTFederated", "FTDist", "TestSupport", .product(name: "X509", package: "swift-certificates")],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "fttrainTests", dependencies: ["TestSupport"]),
        .testTarget(name: "FTServeTests", dependencies: ["FTServe", "FTTrain", "TestSupport"]),
    ]
)
