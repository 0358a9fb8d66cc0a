import Foundation
import XCTest
@testable import Onyx

final class SessionTests: XCTestCase {
    /// y = (x + b) * x with x: float [batch, 3], b an initializer.
    func makeModel() throws -> Model {
        let graph = Graph(
            name: "g",
            nodes: [
                Node(name: "add", opType: "Add", inputs: ["x", "b"], outputs: ["s"]),
                Node(name: "mul", opType: "Mul", inputs: ["s", "x"], outputs: ["y"]),
            ],
            inputs: [ValueInfo(name: "x", type: .tensor(elementType: .float, shape: [.symbolic("batch"), .known(3)]))],
            outputs: [ValueInfo(name: "y", type: .tensor(elementType: .float, shape: [.symbolic("batch"), .known(3)]))],
            constants: ["b": try Tensor(shape: [3], scalars: [Float(1), 2, 3])])
        return Model(opsetImports: [OpsetImport(domain: "", version: 17)], graph: graph)
    }

    func testRunsAndAcceptsNewShapes() throws {
        let session = try Session(model: makeModel())
        XCTAssertEqual(session.inputs.map(\.name), ["x"])
        let one = try session.run(["x": try Tensor(shape: [1, 3], scalars: [Float(1), 1, 1])])
        XCTAssertEqual(try one["y"]?.scalars(as: Float.self), [2, 3, 4])
        let two = try session.run(["x": try Tensor(shape: [2, 3], scalars: [Float(0), 1, 2, 3, 4, 5])])
        XCTAssertEqual(two["y"]?.shape, [2, 3])
        XCTAssertEqual(try two["y"]?.scalars(as: Float.self), [0, 3, 10, 12, 24, 40])
        // And back to the first shape: nothing of the previous run leaks in.
        let again = try session.run(["x": try Tensor(shape: [1, 3], scalars: [Float(1), 1, 1])])
        XCTAssertEqual(try again["y"]?.scalars(as: Float.self), [2, 3, 4])
    }

    func testRefusesBadInputsBeforeRunning() throws {
        let session = try Session(model: makeModel())
        func kind(_ feeds: [String: Tensor]) -> OnyxError.Kind? {
            do {
                _ = try session.run(feeds)
                return nil
            } catch {
                return (error as? OnyxError)?.kind
            }
        }
        XCTAssertEqual(kind([:]), .missingInput)
        XCTAssertEqual(kind(["x": try Tensor(shape: [1, 3], scalars: [Float](repeating: 0, count: 3)), "z": Tensor(scalar: Float(0))]), .unexpectedInput)
        XCTAssertEqual(kind(["x": try Tensor(shape: [1, 3], scalars: [Int32](repeating: 0, count: 3))]), .wrongElementType)
        XCTAssertEqual(kind(["x": try Tensor(shape: [1, 4], scalars: [Float](repeating: 0, count: 4))]), .shapeMismatch)
        XCTAssertEqual(kind(["x": try Tensor(shape: [3], scalars: [Float](repeating: 0, count: 3))]), .shapeMismatch)
        // A sequence or an empty optional where a tensor is declared is refused naming the input.
        for value in [Value.sequence([], elementType: .float), .none] {
            XCTAssertThrowsError(try session.runValues(["x": value])) { error in
                XCTAssertEqual((error as? OnyxError)?.kind, .wrongElementType, "\(error)")
                XCTAssertEqual((error as? OnyxError)?.value, "x", "\(error)")
            }
        }
    }

    func testUnsupportedOperatorFailsWhenPlanningAndNamesTheNode() throws {
        var model = try makeModel()
        model.graph.nodes[1].opType = "NoSuchOp"
        XCTAssertThrowsError(try Session(model: model)) { error in
            let error = error as? OnyxError
            XCTAssertEqual(error?.kind, .unsupportedOperator)
            XCTAssertEqual(error?.node?.name, "mul")
            XCTAssertEqual(error?.node?.opset, 17)
        }
    }

    func testRunErrorsNameTheNode() throws {
        var model = try makeModel()
        model.graph.constants["b"] = try Tensor(shape: [2], scalars: [Float(1), 2])
        let session = try Session(model: model)
        XCTAssertThrowsError(try session.run(["x": try Tensor(shape: [1, 3], scalars: [Float](repeating: 0, count: 3))])) { error in
            XCTAssertEqual((error as? OnyxError)?.node?.name, "add")
            XCTAssertTrue("\(error)".contains("cannot be broadcast"), "\(error)")
        }
    }

    func testFeedingAnInitializerBackedInputOverridesIt() throws {
        var model = try makeModel()
        model.graph.inputs.append(ValueInfo(name: "b", type: .tensor(elementType: .float, shape: [.known(3)])))
        let session = try Session(model: model)
        XCTAssertEqual(session.inputs.map(\.name), ["x"])
        let x = try Tensor(shape: [1, 3], scalars: [Float(1), 1, 1])
        let defaulted = try session.runValues(["x": .tensor(x)])
        XCTAssertEqual(try defaulted[0].asTensor().scalars(as: Float.self), [2, 3, 4])
        let overridden = try session.runValues(["x": .tensor(x), "b": .tensor(try Tensor(shape: [3], scalars: [Float(0), 0, 0]))])
        XCTAssertEqual(try overridden[0].asTensor().scalars(as: Float.self), [1, 1, 1])
    }

    func testConcurrentRunsMatchSequentialOnes() throws {
        let session = try Session(model: makeModel())
        let inputs = try (0..<16).map { i in try Tensor(shape: [2, 3], scalars: (0..<6).map { Float($0 + i) }) }
        let expected = try inputs.map { try session.run(["x": $0])["y"] }
        final class Box: @unchecked Sendable {
            var mismatches = 0
            let lock = NSLock()
        }
        let box = Box()
        DispatchQueue.concurrentPerform(iterations: inputs.count * 4) { index in
            let i = index % inputs.count
            let value = try? session.run(["x": inputs[i]])["y"]
            if value != expected[i] {
                box.lock.lock()
                box.mismatches += 1
                box.lock.unlock()
            }
        }
        XCTAssertEqual(box.mismatches, 0)
    }
}
