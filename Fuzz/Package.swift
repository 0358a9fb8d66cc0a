// swift-tools-version: 6.0
import PackageDescription

// The libFuzzer target over load + plan + run. A package of its own so that
// the fuzzer's build flags (`--sanitize=fuzzer`, set by tools/fuzz) never
// reach the Onyx package's targets. Build and run it with `tools/fuzz`.
let package = Package(
    name: "OnyxFuzz",
    dependencies: [
        .package(name: "Onyx", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "onyx-fuzz",
            dependencies: [.product(name: "OnyxTesting", package: "Onyx")]
        )
    ]
)
