import Foundation
import OnyxTesting
import XCTest

// The README's second library snippet, verbatim, with what it assumes defined first.
final class LibrarySurfaceTests: XCTestCase {
    func testReadmeLibrarySurface() async throws {
        let digits = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("models/digits")
        let modelURL = digits.appendingPathComponent("digits-cnn.onnx")
        let image = try Tensor(contentsOf: digits.appendingPathComponent("samples/digit-0-label-1.pb"))
        var options = SessionOptions()                  // threads, optimize, disabledPasses, memoryLimitBytes
        options.threads = 2
        let threaded = try Session(contentsOf: modelURL, options: options)
        print(threaded.inputs.map(\.name), threaded.inputs.map(\.type))         // shapes keep symbolic dims
        let subset = try await threaded.run(["image": image], outputs: ["probabilities"])   // async, some outputs
        let ids = try Tensor(shape: [2], scalars: [Int64(7), 9])   // Float, Double, Float16, Int8…UInt64, Bool, String
        try ids.withUnsafeBufferPointer(as: Int64.self) { print($0[0], subset.keys) }        // no copy
        try ids.write(to: URL(fileURLWithPath: "/tmp/ids.npy"))   // .npy; TensorProto .pb for other extensions
        let model = try Model(contentsOf: modelURL)               // the IR: graph, nodes, constants
        try model.write(to: URL(fileURLWithPath: "/tmp/copy.onnx"))

        XCTAssertEqual(Array(subset.keys), ["probabilities"])
        XCTAssertEqual(try Tensor(contentsOf: URL(fileURLWithPath: "/tmp/ids.npy")), ids)
        XCTAssertEqual(try Model(contentsOf: URL(fileURLWithPath: "/tmp/copy.onnx")), model)
    }
}
