import Foundation
import XCTest
@testable import Onyx

/// LSTM, GRU and RNN against a plain implementation of the spec equations
/// written here (one batch row and direction at a time, no hoisting), plus
/// hand-computed cases.
final class RecurrentTests: XCTestCase {
    // MARK: - Hand-computed

    /// W = R = 1, Relu: Ht = Xt + Ht−1, so the forward pass gives running
    /// sums and the reverse pass sums from each sequence's own end.
    func testRunningSumByHand() throws {
        let x = try Tensor(shape: [3, 2, 1], scalars: [Float(1), 10, 2, 20, 3, 30])
        let one = try Tensor(shape: [1, 1, 1], scalars: [Float(1)])
        let lens = try Tensor(shape: [2], scalars: [Int32(3), 2])
        func run(_ direction: String) throws -> [Tensor] {
            try SingleOp.run(
                "RNN", opset: 22, inputs: [("x", x), ("w", one), ("r", one), ("", one), ("lens", lens)],
                attributes: [.int("hidden_size", 1), .string("direction", direction), .strings("activations", ["Relu"])],
                outputs: 2)
        }
        let forward = try run("forward")
        XCTAssertEqual(try forward[0].scalars(as: Float.self), [1, 10, 3, 30, 6, 0])
        XCTAssertEqual(try forward[1].scalars(as: Float.self), [6, 30])
        let reverse = try run("reverse")
        XCTAssertEqual(try reverse[0].scalars(as: Float.self), [6, 30, 5, 20, 3, 0])
        XCTAssertEqual(try reverse[1].scalars(as: Float.self), [6, 30])
    }

    /// Affine takes the first alpha and beta; the Relu before it takes none.
    func testActivationParametersAreConsumedInOrder() throws {
        let x = try Tensor(shape: [1, 1, 1], scalars: [Float(3)])
        let one = try Tensor(shape: [2, 1, 1], scalars: [Float(1), 1])
        let out = try SingleOp.run(
            "RNN", opset: 22, inputs: [("x", x), ("w", one), ("r", one)],
            attributes: [
                .string("direction", "bidirectional"), .strings("activations", ["Relu", "Affine"]),
                .floats("activation_alpha", [2]), .floats("activation_beta", [0.5]),
            ], outputs: 2)
        XCTAssertEqual(try out[0].scalars(as: Float.self), [3, 6.5])
    }

    /// Zero weights: z = 0.5 and h = 0, so Ht = Ht−1 / 2.
    func testFloat16AndOpsetOne() throws {
        let x = try Tensor(shape: [2, 1, 1], scalars: [Float16(1), 2])
        let zeros = try Tensor(shape: [1, 3, 1], scalars: [Float16](repeating: 0, count: 3))
        let h0 = try Tensor(shape: [1, 1, 1], scalars: [Float16(1)])
        let absent = try Tensor(shape: [0], scalars: [Float16]())
        func run(opset: Int, _ attributes: [Attribute]) throws -> [Tensor] {
            try SingleOp.run(
                "GRU", opset: opset, inputs: [("x", x), ("w", zeros), ("r", zeros), ("", absent), ("", absent), ("h0", h0)],
                attributes: attributes, outputs: 2)
        }
        let out = try run(opset: 1, [.string("direction", "foward"), .int("output_sequence", 1)])
        XCTAssertEqual(out[0].elementType, .float16)
        XCTAssertEqual(try out[0].floatValues(), [0.5, 0.25])
        XCTAssertEqual(try out[1].floatValues(), [0.25])
        XCTAssertEqual(try run(opset: 7, [])[1].floatValues(), [0.25])
        XCTAssertThrowsError(try run(opset: 7, [.string("direction", "foward")]))
    }

    func testInvalidAttributesAndOperands() throws {
        let x = try Tensor(shape: [2, 1, 1], scalars: [Float(1), 2])
        let w = try Tensor(shape: [1, 1, 1], scalars: [Float(1)])
        func run(_ attributes: [Attribute], lens: [Int32] = [2]) throws {
            let lengths = try Tensor(shape: [1], scalars: lens)
            _ = try SingleOp.run("RNN", inputs: [("x", x), ("w", w), ("r", w), ("", w), ("l", lengths)], attributes: attributes)
        }
        XCTAssertNoThrow(try run([]))
        XCTAssertThrowsError(try run([.string("direction", "sideways")]))
        XCTAssertThrowsError(try run([.strings("activations", ["Swish"])]))
        XCTAssertThrowsError(try run([.strings("activations", ["Tanh", "Tanh", "Tanh"])]))
        XCTAssertThrowsError(try run([.int("hidden_size", 2)]))
        XCTAssertThrowsError(try run([.string("direction", "bidirectional")]))
        XCTAssertThrowsError(try run([], lens: [3]))
        XCTAssertThrowsError(try run([], lens: [-1]))
    }

    // MARK: - Against the plain implementation

    func testLSTMBidirectionalWithShortSequence() throws {
        try check(Setup(op: "LSTM", directions: 2, layout: 0, lengths: [3, 1, 0], peepholes: true))
    }

    func testLSTMBatchMajorReverse() throws {
        try check(Setup(op: "LSTM", directions: 1, reverse: true, layout: 1, lengths: [2, 3, 1]))
    }

    func testLSTMInputForgetClipAndCustomActivations() throws {
        var setup = Setup(op: "LSTM", directions: 2, layout: 1, lengths: [3, 2, 3], peepholes: true)
        setup.inputForget = true
        setup.clip = 0.7
        setup.activations = (
            ["HardSigmoid", "Tanh", "Softsign", "Sigmoid", "LeakyRelu", "ScaledTanh"],
            alpha: [0.3, 0.05, 0.9], beta: [0.4, 1.5])
        setup.functions = [
            [{ min(max(0.3 * $0 + 0.4, 0), 1) }, { Foundation.tanh($0) }, { $0 / (1 + abs($0)) }],
            [{ 1 / (1 + exp(-$0)) }, { $0 >= 0 ? $0 : 0.05 * $0 }, { 0.9 * Foundation.tanh(1.5 * $0) }],
        ]
        try check(setup)
    }

    /// Full-length time-major sequences take the float fast path (GEMM
    /// projections, C gate loops): the same checks hold there.
    func testLSTMFastPathForwardReverseAndBidirectional() throws {
        try check(Setup(op: "LSTM", directions: 1, layout: 0, lengths: nil))
        try check(Setup(op: "LSTM", directions: 1, reverse: true, layout: 0, lengths: [3, 3, 3], peepholes: true))
        try check(Setup(op: "LSTM", directions: 2, layout: 0, lengths: nil, peepholes: true))
        var setup = Setup(op: "LSTM", directions: 2, layout: 0, lengths: nil, peepholes: true)
        setup.inputForget = true
        setup.clip = 0.7
        setup.activations = (
            ["HardSigmoid", "Tanh", "Softsign", "Sigmoid", "LeakyRelu", "ScaledTanh"],
            alpha: [0.3, 0.05, 0.9], beta: [0.4, 1.5])
        setup.functions = [
            [{ min(max(0.3 * $0 + 0.4, 0), 1) }, { Foundation.tanh($0) }, { $0 / (1 + abs($0)) }],
            [{ 1 / (1 + exp(-$0)) }, { $0 >= 0 ? $0 : 0.05 * $0 }, { 0.9 * Foundation.tanh(1.5 * $0) }],
        ]
        try check(setup)
    }

    /// With W and R initializers the LSTM packs them when the plan is built
    /// (the fast path then never decodes them; the reference path, for short
    /// sequences, decodes them after all): the same checks hold.
    func testLSTMWithConstantWeights() throws {
        var setup = Setup(op: "LSTM", directions: 2, layout: 0, lengths: nil, peepholes: true)
        setup.constantWeights = true
        try check(setup)
        var short = Setup(op: "LSTM", directions: 2, layout: 0, lengths: [1, 3, 2])
        short.constantWeights = true
        try check(short)
        var double = Setup(op: "LSTM", directions: 1, layout: 0, lengths: nil)
        double.constantWeights = true
        double.double = true
        try check(double)
    }

    func testGRUBidirectionalWithShortSequence() throws {
        try check(Setup(op: "GRU", directions: 2, layout: 0, lengths: [1, 3, 2]))
        var linear = Setup(op: "GRU", directions: 2, layout: 0, lengths: [1, 3, 2])
        linear.linearBeforeReset = true
        try check(linear)
    }

    func testGRUBatchMajorReverse() throws {
        var setup = Setup(op: "GRU", directions: 1, reverse: true, layout: 1, lengths: [3, 1, 2])
        setup.linearBeforeReset = true
        setup.clip = 0.5
        try check(setup)
        try check(Setup(op: "GRU", directions: 1, reverse: true, layout: 1, lengths: nil))
    }

    func testRNNBidirectionalWithShortSequence() throws {
        try check(Setup(op: "RNN", directions: 2, layout: 0, lengths: [2, 3, 1]))
    }

    func testRNNBatchMajorReverseAndDouble() throws {
        try check(Setup(op: "RNN", directions: 1, reverse: true, layout: 1, lengths: [1, 3, 2]))
        var setup = Setup(op: "RNN", directions: 2, layout: 1, lengths: [3, 0, 2])
        setup.double = true
        setup.activations = (["Elu", "Softplus"], alpha: [0.7], beta: [])
        setup.functions = [[{ $0 >= 0 ? $0 : 0.7 * (exp($0) - 1) }], [{ log(1 + exp($0)) }]]
        try check(setup)
    }

    // MARK: - Harness

    struct Setup {
        var op: String
        var directions: Int
        var reverse = false
        var layout: Int
        var lengths: [Int]?
        var peepholes = false
        var inputForget = false
        var linearBeforeReset = false
        var clip: Double?
        var double = false
        /// W and R as initializers rather than fed inputs.
        var constantWeights = false
        var activations: (names: [String], alpha: [Float], beta: [Float])?
        var functions: [[(Double) -> Double]]?
        let seq = 3, batch = 3, input = 2, hidden = 3

        init(op: String, directions: Int, reverse: Bool = false, layout: Int, lengths: [Int]?, peepholes: Bool = false) {
            (self.op, self.directions, self.reverse, self.layout, self.lengths, self.peepholes) =
                (op, directions, reverse, layout, lengths, peepholes)
        }

        var gates: Int { ["RNN": 1, "GRU": 3, "LSTM": 4][op] ?? 0 }
        var stateCount: Int { op == "LSTM" ? 2 : 1 }
        var defaultFunctions: [(Double) -> Double] {
            let sigmoid: (Double) -> Double = { 1 / (1 + exp(-$0)) }
            let tanh: (Double) -> Double = { Foundation.tanh($0) }
            return ["RNN": [tanh], "GRU": [sigmoid, tanh], "LSTM": [sigmoid, tanh, tanh]][op] ?? []
        }
    }

    /// Deterministic values in (−0.9, 0.9), rounded through Float.
    static func values(_ count: Int, _ seed: Double) -> [Double] {
        (0..<count).map { Double(Float(0.9 * sin(Double($0) * 1.37 + seed))) }
    }

    func tensor(_ values: [Double], _ shape: [Int], double: Bool) throws -> Tensor {
        double ? try Tensor(shape: shape, scalars: values) : try Tensor(shape: shape, scalars: values.map { Float($0) })
    }

    func check(_ s: Setup, file: StaticString = #filePath, line: UInt = #line) throws {
        let (T, B, I, H, D) = (s.seq, s.batch, s.input, s.hidden, s.directions)
        let rows = s.gates * H
        let x = Self.values(T * B * I, 0.1)  // [b][t][i]
        let w = Self.values(D * rows * I, 1.3)
        let r = Self.values(D * rows * H, 2.9)
        let bias = Self.values(D * 2 * rows, 4.2)
        let peep = s.peepholes ? Self.values(D * 3 * H, 5.5) : [Double](repeating: 0, count: D * 3 * H)
        let initial = (0..<s.stateCount).map { Self.values(D * B * H, 7.0 + Double($0)) }  // [d][b][h]
        let lengths = s.lengths ?? [Int](repeating: T, count: B)

        // Expected outputs in canonical order: Y [t][d][b][h], states [d][b][h].
        var y = [Double](repeating: 0, count: T * D * B * H)
        var finals = initial
        for d in 0..<D {
            let functions = s.functions?[d] ?? s.defaultFunctions
            let wd = (0..<rows).map { j in Array(w[(d * rows + j) * I..<(d * rows + j + 1) * I]) }
            let rd = (0..<rows).map { j in Array(r[(d * rows + j) * H..<(d * rows + j + 1) * H]) }
            let wb = Array(bias[d * 2 * rows..<(d * 2 + 1) * rows])
            let rb = Array(bias[(d * 2 + 1) * rows..<(d * 2 + 2) * rows])
            let p = Array(peep[d * 3 * H..<(d + 1) * 3 * H])
            let backward = s.reverse || d == 1
            for b in 0..<B {
                var h = Array(initial[0][(d * B + b) * H..<(d * B + b + 1) * H])
                var c = s.stateCount > 1 ? Array(initial[1][(d * B + b) * H..<(d * B + b + 1) * H]) : []
                let order = backward ? Array((0..<lengths[b]).reversed()) : Array(0..<lengths[b])
                for t in order {
                    let xt = Array(x[(b * T + t) * I..<(b * T + t + 1) * I])
                    (h, c) = step(s, functions, xt, h, c, wd, rd, wb, rb, p)
                    for k in 0..<H { y[((t * D + d) * B + b) * H + k] = h[k] }
                }
                for k in 0..<H {
                    finals[0][(d * B + b) * H + k] = lengths[b] > 0 ? h[k] : 0
                    if s.stateCount > 1 { finals[1][(d * B + b) * H + k] = lengths[b] > 0 ? c[k] : 0 }
                }
            }
        }

        // Inputs and expected outputs in the node's layout.
        let batchMajor = s.layout == 1
        let xLaid = batchMajor ? x : (0..<T * B * I).map { n in x[((n / I % B) * T + n / (B * I)) * I + n % I] }
        func stateLaid(_ v: [Double]) -> [Double] {
            batchMajor ? (0..<D * B * H).map { n in v[((n / H % D) * B + n / (D * H)) * H + n % H] } : v
        }
        let yLaid = batchMajor
            ? (0..<T * D * B * H).map { n in
                let (b, t, d, k) = (n / (T * D * H), n / (D * H) % T, n / H % D, n % H)
                return y[((t * D + d) * B + b) * H + k]
            } : y
        let stateShape = batchMajor ? [B, D, H] : [D, B, H]
        let lensInput = s.lengths.map { lengths in ("lens", lengths.map { Int32($0) }) }
        var inputs: [(String, Tensor)] = [
            ("x", try tensor(xLaid, batchMajor ? [B, T, I] : [T, B, I], double: s.double)),
            ("w", try tensor(w, [D, rows, I], double: s.double)),
            ("r", try tensor(r, [D, rows, H], double: s.double)),
            ("b", try tensor(bias, [D, 2 * rows], double: s.double)),
            (lensInput?.0 ?? "", try Tensor(shape: [lensInput == nil ? 0 : B], scalars: lensInput?.1 ?? [])),
            ("h0", try tensor(stateLaid(initial[0]), stateShape, double: s.double)),
        ]
        if s.op == "LSTM" {
            inputs.append(("c0", try tensor(stateLaid(initial[1]), stateShape, double: s.double)))
            inputs.append(("p", try tensor(peep, [D, 3 * H], double: s.double)))
        }
        var attributes: [Attribute] = [
            .int("hidden_size", H), .int("layout", s.layout),
            .string("direction", D == 2 ? "bidirectional" : (s.reverse ? "reverse" : "forward")),
        ]
        if let clip = s.clip { attributes.append(.float("clip", Float(clip))) }
        if s.inputForget { attributes.append(.int("input_forget", 1)) }
        if s.linearBeforeReset { attributes.append(.int("linear_before_reset", 1)) }
        if let activations = s.activations {
            attributes.append(.strings("activations", activations.names))
            if !activations.alpha.isEmpty { attributes.append(.floats("activation_alpha", activations.alpha)) }
            if !activations.beta.isEmpty { attributes.append(.floats("activation_beta", activations.beta)) }
        }
        let outputs = try SingleOp.run(
            s.op, opset: 22, inputs: inputs, attributes: attributes, outputs: 1 + s.stateCount,
            constants: s.constantWeights ? ["w", "r"] : [])

        XCTAssertEqual(outputs[0].shape, batchMajor ? [B, T, D, H] : [T, D, B, H], file: file, line: line)
        let actualY = try outputs[0].doubleValues()
        assertClose(actualY, yLaid, "Y", file: file, line: line)
        for (index, expected) in finals.enumerated() {
            XCTAssertEqual(outputs[index + 1].shape, stateShape, file: file, line: line)
            assertClose(try outputs[index + 1].doubleValues(), stateLaid(expected), "state \(index)", file: file, line: line)
        }

        // Y is exactly zero past each sequence's end; Y_h is Y at the row's own last step.
        let actualYh = try outputs[1].doubleValues()
        for d in 0..<D {
            for b in 0..<B {
                for t in 0..<T {
                    for k in 0..<H {
                        let offset = batchMajor ? ((b * T + t) * D + d) * H + k : ((t * D + d) * B + b) * H + k
                        if t >= lengths[b] { XCTAssertEqual(actualY[offset], 0, "Y padding", file: file, line: line) }
                    }
                }
                guard lengths[b] > 0 else { continue }
                let last = (s.reverse || d == 1) ? 0 : lengths[b] - 1
                for k in 0..<H {
                    let yOffset = batchMajor ? ((b * T + last) * D + d) * H + k : ((last * D + d) * B + b) * H + k
                    let hOffset = batchMajor ? (b * D + d) * H + k : (d * B + b) * H + k
                    XCTAssertEqual(actualYh[hOffset], actualY[yOffset], "Y_h at the sequence end", file: file, line: line)
                }
            }
        }
    }

    func assertClose(_ actual: [Double], _ expected: [Double], _ name: String, file: StaticString, line: UInt) {
        XCTAssertEqual(actual.count, expected.count, name, file: file, line: line)
        for (index, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= 1e-5 + 1e-5 * abs(e)) {
            XCTFail("\(name)[\(index)] = \(a), expected \(e)", file: file, line: line)
            return
        }
    }

    func step(
        _ s: Setup, _ functions: [(Double) -> Double], _ x: [Double], _ h: [Double], _ c: [Double],
        _ w: [[Double]], _ r: [[Double]], _ wb: [Double], _ rb: [Double], _ p: [Double]
    ) -> ([Double], [Double]) {
        let H = s.hidden
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        func clip(_ v: Double) -> Double { s.clip.map { min(max(v, -$0), $0) } ?? v }
        switch s.op {
        case "RNN":
            return ((0..<H).map { j in functions[0](clip(dot(w[j], x) + dot(r[j], h) + wb[j] + rb[j])) }, [])
        case "GRU":
            let (f, g) = (functions[0], functions[1])
            let z = (0..<H).map { j in f(clip(dot(w[j], x) + dot(r[j], h) + wb[j] + rb[j])) }
            let reset = (0..<H).map { j in f(clip(dot(w[H + j], x) + dot(r[H + j], h) + wb[H + j] + rb[H + j])) }
            let gated = zip(reset, h).map { $0 * $1 }
            let candidate = (0..<H).map { j in
                s.linearBeforeReset
                    ? g(clip(dot(w[2 * H + j], x) + reset[j] * (dot(r[2 * H + j], h) + rb[2 * H + j]) + wb[2 * H + j]))
                    : g(clip(dot(w[2 * H + j], x) + dot(r[2 * H + j], gated) + rb[2 * H + j] + wb[2 * H + j]))
            }
            return ((0..<H).map { (1 - z[$0]) * candidate[$0] + z[$0] * h[$0] }, [])
        default:
            let (f, g, hf) = (functions[0], functions[1], functions[2])
            func pre(_ gate: Int, _ j: Int) -> Double {
                dot(w[gate * H + j], x) + dot(r[gate * H + j], h) + wb[gate * H + j] + rb[gate * H + j]
            }
            let i = (0..<H).map { f(clip(pre(0, $0) + p[$0] * c[$0])) }
            let forget = (0..<H).map { s.inputForget ? 1 - i[$0] : f(clip(pre(2, $0) + p[2 * H + $0] * c[$0])) }
            let cell = (0..<H).map { g(clip(pre(3, $0))) }
            let newC = (0..<H).map { forget[$0] * c[$0] + i[$0] * cell[$0] }
            let o = (0..<H).map { f(clip(pre(1, $0) + p[H + $0] * newC[$0])) }
            return ((0..<H).map { o[$0] * hf(newC[$0]) }, newC)
        }
    }
}

extension Attribute {
    fileprivate static func strings(_ name: String, _ value: [String]) -> Attribute {
        Attribute(name: name, value: .strings(value.map { Array($0.utf8) }))
    }
}
