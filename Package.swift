// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "lpnd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lpnd", targets: ["lpnd"]),
        .library(name: "LPN", targets: ["LPN"]),
        .library(name: "Reconstruction", targets: ["Reconstruction"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libzmq3-dev, libpng-dev, libfftw3-dev,
        // libismrmrd-dev; scripts/install-deps.sh installs them).
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        // LAPACK routines exported by libopenblas (Cholesky for the dense-CS closed-form x-step).
        .systemLibrary(name: "CLAPACK"),

        // The primitives every module shares: one lock box, the monotonic clock, the RNG,
        // percentiles.
        .target(name: "Support"),
        // File formats: tensors (.npy, safetensors), BART's cfl/hdr, PNG.
        .target(name: "TensorIO", dependencies: ["CPNG"]),
        // The engine's vector kernels: one C source per kernel, compiled for AVX-512, AVX2+FMA
        // and the baseline, chosen at run time (the Swift toolchain targets baseline x86-64).
        .target(name: "CKernels"),
        // MRD/ISMRMRD HDF5 files through Debian's libismrmrd (libismrmrd-dev), for `lpnd send --mrd`;
        // HDF5's include path (libismrmrd's dataset header needs it) comes from pkg-config.
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .target(name: "CMRD", dependencies: ["CHDF5"], linkerSettings: [.linkedLibrary("ismrmrd")]),
        // Learned proximal networks: model format, ψ and ∇ψ engine, φ.
        .target(name: "LPN", dependencies: ["COpenBLAS", "CKernels", "TensorIO", "Support"]),
        // Forward operators, PnP solvers, diagnostics, pipelines as files.
        .target(name: "Reconstruction",
                dependencies: ["LPN", "TensorIO", "Support", "COpenBLAS", "CLAPACK", "CFFTW",
                               .product(name: "Yams", package: "Yams")]),

        // ZeroMQ protocol, sockets, bounded stages, publisher, daemon.
        .target(name: "Streaming", dependencies: [
            "CZeroMQ", "TensorIO", "Support",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),

        .executableTarget(
            name: "lpnd",
            dependencies: [
                "LPN", "TensorIO", "Support", "Reconstruction", "Streaming", "CMRD",
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),

        .target(name: "StreamingTestSupport",
                dependencies: ["Streaming", "Support", .product(name: "Logging", package: "swift-log")],
                path: "Tests/StreamingTestSupport"),
        .testTarget(name: "StreamingTests", dependencies: [
            "Streaming", "StreamingTestSupport", "TensorIO", "Support",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .testTarget(name: "LPNDTests", dependencies: ["lpnd", "Streaming", "StreamingTestSupport", "Reconstruction", "TensorIO", "Support"]),
        .testTarget(name: "CKernelsTests", dependencies: ["CKernels"]),
        .testTarget(name: "LPNTests", dependencies: ["LPN", "CKernels", "TensorIO", "Support"],
                    resources: [.copy("Fixtures")]),
        // Fixtures are read from the source tree (#filePath): pipeline files refer to models
        // by paths relative to themselves.
        .testTarget(name: "ReconstructionTests", dependencies: ["Reconstruction", "LPN", "TensorIO", "Support"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
