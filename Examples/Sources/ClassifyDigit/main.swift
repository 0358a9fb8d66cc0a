import Foundation
import Onyx

// Classifies an 8×8 digit image with the digits CNN bundled in the
// repository (../models/digits), as a program depending on Onyx would.
//
//     swift run classify-digit [MODEL.onnx] [IMAGE.pb|IMAGE.npy]
//
// Without arguments it uses the bundled model and its first sample.

let digits = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("models/digits")
let arguments = CommandLine.arguments.dropFirst()
let modelURL = arguments.first.map { URL(fileURLWithPath: $0) } ?? digits.appendingPathComponent("digits-cnn.onnx")
let imageURL = arguments.dropFirst().first.map { URL(fileURLWithPath: $0) }
    ?? digits.appendingPathComponent("samples/digit-0-label-1.pb")

do {
    // The README's library snippet, verbatim:
    let session = try Session(contentsOf: modelURL)
    let image = try Tensor(contentsOf: imageURL)              // [1, 1, 8, 8] float32
    let outputs = try session.run(["image": image])
    let probabilities = try outputs["probabilities"]?.scalars(as: Float.self) ?? []
    let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }
    print("digit \(best.map(String.init) ?? "?") with probability \(best.map { probabilities[$0] } ?? 0)")
} catch let error as OnyxError {
    FileHandle.standardError.write(Data("classify-digit: \(error)\n".utf8))
    exit(1)
}
