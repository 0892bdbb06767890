// swift-tools-version: 6.1
// owlprune: one-shot LLM pruning across MPI ranks. Targets are listed in dependency order
// (docs/design.md §2): C bindings, then the pointer-owning modules, then pure algorithms, then the
// distributed layer and the CLI.
import Foundation
import PackageDescription

/// Release speed matters (every matrix product is BLAS, but RMSNorm, RoPE, softmax and the
/// dequantizers are Swift loops). On x86-64, `haswell` turns on AVX2/FMA/F16C (docs/platform.md:
/// F16C makes Float16 conversion ~15x faster); the flag is fixed at build time, so the Swift
/// kernels give the same bits on every CPU that runs the binary (docs/platform.md "BLAS kernels:
/// the same bits on every machine"). Other architectures (aarch64) build for their baseline.
/// `OWLPRUNE_TARGET_CPU=none swift build` drops the flag (x86-64 without AVX2), any other value
/// replaces `haswell`; the manifest is evaluated on the build host, so cross builds set it too.
let targetCPU: String? = {
    if let chosen = ProcessInfo.processInfo.environment["OWLPRUNE_TARGET_CPU"], !chosen.isEmpty {
        return chosen == "none" ? nil : chosen
    }
    #if arch(x86_64)
    return "haswell"
    #else
    return nil
    #endif
}()
let swiftSettings: [SwiftSetting] = targetCPU.map { [.unsafeFlags(["-target-cpu", $0])] } ?? []

let package = Package(
    name: "owlprune",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "owlprune", targets: ["owlprune"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // MARK: - C system libraries
        .systemLibrary(name: "CMPI", pkgConfig: "mpich", providers: [.apt(["libmpich-dev", "mpich"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLinux"),

        // MARK: - Shared by every module: one-line, escaped error text
        .target(name: "Diagnostics", swiftSettings: swiftSettings),

        // MARK: - Modules that own memory and handles
        .target(name: "MPIKit", dependencies: ["CMPI", "Diagnostics"], swiftSettings: swiftSettings),
        .target(name: "Tensor", dependencies: ["CBLAS"], swiftSettings: swiftSettings),
        .target(name: "Checkpoint", dependencies: ["Tensor", "Diagnostics", "CLinux"], swiftSettings: swiftSettings),

        // MARK: - Pure algorithms
        .target(name: "Tokenizer", dependencies: ["Diagnostics"], swiftSettings: swiftSettings),
        .target(name: "Model", dependencies: ["Tensor", "Checkpoint"], swiftSettings: swiftSettings),
        .target(name: "Pruning", dependencies: ["Tensor"], swiftSettings: swiftSettings),

        // MARK: - Distribution, evaluation, CLI
        // Distribution: how work and data are laid over ranks (rank layout, the blocks pipeline and
        // window stream, model slices, calibration windows and their broadcast, progress relay,
        // fault injection), with no knowledge of pruning. Cluster: the prune engine on top of it
        // (strategies, statistics chain, journal, output, report).
        .target(name: "Distribution", dependencies: ["MPIKit", "Model", "Tensor", "Diagnostics"], swiftSettings: swiftSettings),
        .target(name: "Cluster", dependencies: ["Distribution", "MPIKit", "Model", "Pruning", "Checkpoint", "Tensor", "Diagnostics"],
                swiftSettings: swiftSettings),
        .target(name: "Evaluation", dependencies: ["Model", "Distribution", "Cluster", "MPIKit", "Tensor", "Checkpoint", "Tokenizer"],
                swiftSettings: swiftSettings),
        // The application (issue 23 item 2): a run end to end — the run request and recipes, set-up,
        // memory check, calibration, ATP's β search, depth removal, the job, output and journal,
        // evaluation after pruning, sweeps — as llama.cpp's tools sit on libllama and common. The
        // executable parses arguments and renders; a test calls the library directly.
        .target(
            name: "OwlPruneKit",
            dependencies: [
                "MPIKit", "Tensor", "Checkpoint", "Tokenizer", "Model", "Pruning", "Distribution", "Cluster", "Evaluation", "Diagnostics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "owlprune",
            dependencies: [
                "OwlPruneKit",
                "MPIKit", "Tensor", "Checkpoint", "Tokenizer", "Model", "Pruning", "Distribution", "Cluster", "Evaluation", "Diagnostics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings),

        // MARK: - Test support and unit test bundles
        .target(name: "TestSupport", dependencies: ["Tensor", "Checkpoint", "Diagnostics"], swiftSettings: swiftSettings),
        .testTarget(name: "MPIKitTests", dependencies: ["MPIKit", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "Diagnostics", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "Checkpoint", "Diagnostics", "TestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "ModelTests", dependencies: ["Model", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "PruningTests", dependencies: ["Pruning", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "ClusterTests", dependencies: ["Distribution", "Cluster", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport"], swiftSettings: swiftSettings),
        // The command line layer (issue 23 item 6): recipes and flags, rendering, shared types.
        .testTarget(name: "OwlPruneCLITests", dependencies: ["owlprune", "OwlPruneKit", "TestSupport", "Checkpoint", "Distribution", "Cluster", "Model", "Pruning"],
                    swiftSettings: swiftSettings),
        // The application library called directly (issue 23 item 2): runs as values, events, outcomes.
        .testTarget(name: "OwlPruneKitTests", dependencies: ["OwlPruneKit", "TestSupport", "MPIKit", "Checkpoint", "Evaluation", "Pruning"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport", "Checkpoint", "Diagnostics"], swiftSettings: swiftSettings),
    ]
)
