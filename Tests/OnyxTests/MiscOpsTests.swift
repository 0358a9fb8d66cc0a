import XCTest
@testable import Onyx

final class MiscOpsTests: XCTestCase {
    /// Runs one node of `domain` imported at `version`.
    private func run(_ op: String, domain: String, version: Int, inputs: [(String, Tensor)],
                     attributes: [Attribute] = [], outputs: Int = 1) throws -> [Tensor] {
        let names = (0..<outputs).map { "y\($0)" }
        let node = Node(name: "n", opType: op, domain: domain, inputs: inputs.map(\.0), outputs: names, attributes: attributes)
        let graph = Graph(
            name: "g", nodes: [node],
            inputs: inputs.map { ValueInfo(name: $0.0, type: .tensor(elementType: $0.1.elementType, shape: nil)) },
            outputs: names.map { ValueInfo(name: $0, type: nil) })
        let model = Model(opsetImports: [OpsetImport(domain: "", version: 21), OpsetImport(domain: domain, version: version)],
                          graph: graph)
        let results = try Session(model: model).run(Dictionary(uniqueKeysWithValues: inputs))
        return try names.map { guard let t = results[$0] else { throw OnyxError.invalidModel("missing \($0)") }; return t }
    }

    func testShrinkAndBitCast() throws {
        let x = try Tensor(shape: [5], scalars: [Float(-2), -0.5, 0, 0.7, 3])
        let y = try SingleOp.run("Shrink", opset: 9, inputs: [("x", x)], attributes: [.float("lambd", 0.6), .float("bias", 1)])
        XCTAssertEqual(try y[0].scalars(as: Float.self), [-1, 0, 0, -0.3, 2].map { Float($0) })
        let ints = try SingleOp.run("Shrink", opset: 9, inputs: [("x", try Tensor(shape: [2], scalars: [Int8(-5), 5]))],
                                    attributes: [.float("lambd", 1), .float("bias", 1.5)])
        XCTAssertEqual(try ints[0].scalars(as: Int8.self), [-3, 3])
        let bits = try SingleOp.run("BitCast", opset: 26, inputs: [("x", try Tensor(shape: [1], scalars: [Float(1)]))],
                                    attributes: [.int("to", Int(ElementType.int32.rawValue))])[0]
        XCTAssertEqual(try bits.scalars(as: Int32.self), [0x3F80_0000])
        let bools = try SingleOp.run("BitCast", opset: 26, inputs: [("x", try Tensor(shape: [2], scalars: [UInt8(0), 7]))],
                                     attributes: [.int("to", Int(ElementType.bool.rawValue))])[0]
        XCTAssertEqual(try bools.scalars(as: Bool.self), [false, true])
        XCTAssertThrowsError(try SingleOp.run("BitCast", opset: 26, inputs: [("x", x)],
                                              attributes: [.int("to", Int(ElementType.int64.rawValue))]))
    }

    func testTfIdfSkipGrams() throws {
        // Pool: unigram 7, bigram (7, 9). Row [7, 8, 9, 7, 9] with max_skip 1: unigram 7 twice;
        // bigram (7, 9) at skip 1 (7 _ 9) and skip 0 (7 9) → 2.
        let attributes: [Attribute] = [
            .string("mode", "TFIDF"), .int("min_gram_length", 1), .int("max_gram_length", 2), .int("max_skip_count", 1),
            .ints("ngram_counts", [0, 1]), .ints("ngram_indexes", [1, 0]), .ints("pool_int64s", [7, 7, 9]),
            .floats("weights", [0.5, 2]),
        ]
        let x = try Tensor(shape: [1, 5], scalars: [Int64(7), 8, 9, 7, 9])
        let y = try SingleOp.run("TfIdfVectorizer", opset: 9, inputs: [("x", x)], attributes: attributes)[0]
        XCTAssertEqual(y.shape, [1, 2])
        XCTAssertEqual(try y.scalars(as: Float.self), [2 * 0.5, 2 * 2])
    }

    func testLabelEncoderAndTreeEnsemble() throws {
        let strings = try Tensor(shape: [3], strings: ["b", "z", "a"])
        let encoded = try run("LabelEncoder", domain: "ai.onnx.ml", version: 2, inputs: [("x", strings)],
                              attributes: [Attribute(name: "keys_strings", value: .strings([[97], [98]])),
                                           .ints("values_int64s", [10, 20])])[0]
        XCTAssertEqual(try encoded.scalars(as: Int64.self), [20, -1, 10])
        let legacy = try run("LabelEncoder", domain: "ai.onnx.ml", version: 1,
                             inputs: [("x", try Tensor(shape: [2], scalars: [Int64(1), 5]))],
                             attributes: [Attribute(name: "classes_strings", value: .strings([[97], [98]]))])[0]
        XCTAssertEqual(try legacy.strings(), ["b", "_Unused"])
        // One tree: x0 ≤ 1 ? leaf 0 (target 0, 3) : leaf 1 (target 1, 5); SOFTMAX post-transform.
        let tree: [Attribute] = [
            .ints("nodes_featureids", [0]), Attribute(name: "nodes_modes", value: .tensor(try Tensor(shape: [1], scalars: [UInt8(0)]))),
            Attribute(name: "nodes_splits", value: .tensor(try Tensor(shape: [1], scalars: [Float(1)]))),
            .ints("nodes_truenodeids", [0]), .ints("nodes_falsenodeids", [1]), .ints("nodes_trueleafs", [1]),
            .ints("nodes_falseleafs", [1]), .ints("leaf_targetids", [0, 1]),
            Attribute(name: "leaf_weights", value: .tensor(try Tensor(shape: [2], scalars: [Float(3), 5]))),
            .ints("tree_roots", [0]), .int("n_targets", 2), .int("post_transform", 2),
        ]
        let scores = try run("TreeEnsemble", domain: "ai.onnx.ml", version: 5,
                             inputs: [("x", try Tensor(shape: [2, 1], scalars: [Float(0.5), 2]))], attributes: tree)[0]
        let s = try scores.scalars(as: Float.self)
        XCTAssertEqual(s[0], Float(1 / (1 + exp(-3.0))), accuracy: 1e-6)
        XCTAssertEqual(s[1], 0.5, accuracy: 1e-6)
        XCTAssertEqual(s[3], Float(1 / (1 + exp(-5.0))), accuracy: 1e-6)
        XCTAssertEqual(TreeEnsemble.inverseErf(erf(0.3)), 0.3, accuracy: 1e-12)
    }

    func testAdagradStep() throws {
        let out = try run("Adagrad", domain: "ai.onnx.preview.training", version: 1, inputs: [
            ("r", Tensor(scalar: Float(0.1))), ("t", Tensor(scalar: Int64(0))),
            ("x", try Tensor(shape: [1], scalars: [Float(1)])), ("g", try Tensor(shape: [1], scalars: [Float(3)])),
            ("h", try Tensor(shape: [1], scalars: [Float(16)])),
        ], attributes: [.float("epsilon", 0)], outputs: 2)
        // H = 16 + 9 = 25, X = 1 − 0.1 · 3 / 5.
        XCTAssertEqual(try out[1].scalars(as: Float.self), [25])
        XCTAssertEqual(try out[0].scalars(as: Float.self)[0], 0.94, accuracy: 1e-6)
    }

    func testImageDecoderSmallFormatsAndGarbage() throws {
        let ppm = Array("P6\n2 1\n255\n".utf8) + [255, 0, 0, 0, 0, 255]
        let decode = { (bytes: [UInt8], format: String) in
            try SingleOp.run("ImageDecoder", opset: 20, inputs: [("x", try Tensor(shape: [bytes.count], scalars: bytes))],
                             attributes: [.string("pixel_format", format)])[0]
        }
        XCTAssertEqual(try decode(ppm, "RGB").scalars(as: UInt8.self), [255, 0, 0, 0, 0, 255])
        XCTAssertEqual(try decode(ppm, "BGR").scalars(as: UInt8.self), [0, 0, 255, 255, 0, 0])
        XCTAssertEqual(try decode(ppm, "Grayscale").scalars(as: UInt8.self), [76, 29])
        let pgm = Array("P2 2 1 100 # note\n50 100".utf8)
        XCTAssertEqual(try decode(pgm, "Grayscale").scalars(as: UInt8.self), [128, 255])
        XCTAssertEqual(try decode(Array("not an image".utf8), "RGB").shape, [0, 0, 3])
        XCTAssertThrowsError(try decode(Array("RIFF\0\0\0\0WEBPVP8 ".utf8), "RGB"))
    }
}
