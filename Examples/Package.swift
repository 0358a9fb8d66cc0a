// swift-tools-version: 6.0
import Foundation
import PackageDescription

// Onyx is the package one folder up. A path dependency's identity is its
// folder's name, which depends on where the repository was cloned.
let onyx = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "OnyxExamples",
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        // `swift run classify-digit [MODEL.onnx] [IMAGE.pb|.npy]`: classifies one of
        // the digit samples in ../models/digits with the bundled digits CNN.
        .executableTarget(
            name: "classify-digit",
            dependencies: [.product(name: "Onyx", package: onyx)],
            path: "Sources/ClassifyDigit"
        ),
        // A graph-fold test written with OnyxTesting, as a user would write one.
        .testTarget(
            name: "FoldExampleTests",
            dependencies: [.product(name: "OnyxTesting", package: onyx)]
        ),
    ]
)
