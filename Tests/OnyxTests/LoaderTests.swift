import Foundation
import XCTest
@testable import Onyx

final class LoaderTests: XCTestCase {
    /// Large payloads take the path that hands copied pages back to the
    /// kernel while unpacking; the tensors must still hold the right bytes.
    func testLargeInitializersSurvivePageReleasingLoad() throws {
        var graph = Graph(name: "big")
        var previous = "x"
        let sizes = [70_000, 70_000, 300_000, 16, 70_000, 1 << 20, 70_000]
        for (index, count) in sizes.enumerated() {
            let values = (0..<count).map { Float(($0 &* 7919 &+ index) % 1000) / 7 }
            let name = "w\(index)"
            graph.constants[name] = try Tensor(shape: [count], scalars: values)
            graph.nodes.append(Node(name: "add\(index)", opType: "Add", inputs: [previous, name], outputs: ["y\(index)"]))
            previous = "y\(index)"
        }
        graph.inputs = [ValueInfo(name: "x", type: .tensor(elementType: .float, shape: [.symbolic("n")]))]
        graph.outputs = [ValueInfo(name: previous, type: nil)]
        let model = Model(opsetImports: [OpsetImport(domain: "", version: 17)], graph: graph)
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("big.onnx")
        try model.write(to: url)
        let loaded = try Model(contentsOf: url)
        XCTAssertEqual(loaded, model)
        let again = try Model(contentsOf: url)
        XCTAssertEqual(again.graph.constants["w5"], model.graph.constants["w5"])
    }

    func testNodesOutOfOrderAreSortedTopologically() throws {
        let graph = Graph(
            nodes: [
                Node(name: "c", opType: "Neg", inputs: ["b"], outputs: ["c"]),
                Node(name: "a", opType: "Neg", inputs: ["x"], outputs: ["a"]),
                Node(name: "b", opType: "Add", inputs: ["a", "x"], outputs: ["b"]),
            ],
            inputs: [ValueInfo(name: "x", type: .tensor(elementType: .float, shape: [.known(2)]))],
            outputs: [ValueInfo(name: "c", type: nil)])
        let model = Model(opsetImports: [OpsetImport(domain: "", version: 13)], graph: graph)
        let bytes = try ModelWriter.serialize(model)
        let loaded = try bytes.withUnsafeBytes { try ModelLoader.load(serialized: $0) }
        XCTAssertEqual(loaded.graph.nodes.map(\.name), ["a", "b", "c"])
    }

    func testSubgraphReadingALaterOuterValueIsOrderedAfterItsProducer() throws {
        let body = Graph(
            name: "then", nodes: [Node(name: "inner", opType: "Identity", inputs: ["late"], outputs: ["t"])],
            outputs: [ValueInfo(name: "t", type: nil)])
        let graph = Graph(
            nodes: [
                Node(name: "if", opType: "If", inputs: ["cond"], outputs: ["out"], attributes: [
                    Attribute(name: "then_branch", value: .graph(body)),
                    Attribute(name: "else_branch", value: .graph(body)),
                ]),
                Node(name: "producer", opType: "Neg", inputs: ["x"], outputs: ["late"]),
            ],
            inputs: [
                ValueInfo(name: "cond", type: .tensor(elementType: .bool, shape: [])),
                ValueInfo(name: "x", type: .tensor(elementType: .float, shape: [])),
            ],
            outputs: [ValueInfo(name: "out", type: nil)])
        let model = Model(opsetImports: [OpsetImport(domain: "", version: 13)], graph: graph)
        let bytes = try ModelWriter.serialize(model)
        let loaded = try bytes.withUnsafeBytes { try ModelLoader.load(serialized: $0) }
        XCTAssertEqual(loaded.graph.nodes.map(\.name), ["producer", "if"])
    }

    func testSparseInitializerBecomesDense() throws {
        // Written by hand: values [5, 7] at linear indices [1, 4] of a 2x3 tensor.
        let values = try Tensor(shape: [2], scalars: [Float(5), 7])
        let indices = try Tensor(shape: [2], scalars: [Int64(1), 4])
        let decoder = ProtoDecoder(external: ExternalDataResolver(baseDirectory: nil), memoryLimit: 1 << 20, maxGraphDepth: 8)
        let dense = try decoder.densify(SparseTensor(shape: [2, 3], values: values, indices: indices))
        XCTAssertEqual(try dense.scalars(as: Float.self), [0, 5, 0, 0, 7, 0])
        let perAxis = try Tensor(shape: [2, 2], scalars: [Int64(0), 1, 1, 1])
        let dense2 = try decoder.densify(SparseTensor(shape: [2, 3], values: values, indices: perAxis))
        XCTAssertEqual(try dense2.scalars(as: Float.self), [0, 5, 0, 0, 7, 0])
        let outOfRange = try Tensor(shape: [2], scalars: [Int64(1), 6])
        XCTAssertThrowsError(try decoder.densify(SparseTensor(shape: [2, 3], values: values, indices: outOfRange)))
        let tight = ProtoDecoder(external: ExternalDataResolver(baseDirectory: nil), memoryLimit: 16, maxGraphDepth: 8)
        XCTAssertThrowsError(try tight.densify(SparseTensor(shape: [1000, 1000], values: values, indices: indices))) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .resourceLimit)
        }
    }

    func testExternalDataIsMappedAndShared() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = (0..<64).map { Float($0) }
        let data = weights.withUnsafeBytes { Data($0) }
        try data.write(to: directory.appendingPathComponent("weights.bin"))
        // Build the model with Python-free means: write a normal model, then
        // check the resolver directly for ranges and paths.
        let resolver = ExternalDataResolver(baseDirectory: directory)
        let first = try resolver.bytes(location: "weights.bin", offset: 0, length: 128, expected: 128)
        let second = try resolver.bytes(location: "weights.bin", offset: 128, length: nil, expected: 128)
        XCTAssertEqual(resolver.files, ["weights.bin"])
        let a = try Tensor(elementType: .float, shape: [32], buffer: first)
        let b = try Tensor(elementType: .float, shape: [32], buffer: second)
        XCTAssertEqual(try a.scalars(as: Float.self), Array(weights[0..<32]))
        XCTAssertEqual(try b.scalars(as: Float.self), Array(weights[32..<64]))
        XCTAssertThrowsError(try resolver.bytes(location: "weights.bin", offset: 200, length: 100, expected: 100))
        XCTAssertThrowsError(try resolver.bytes(location: "sub/../weights.bin", offset: 0, length: 4, expected: 4))
        XCTAssertThrowsError(try resolver.bytes(location: "/tmp/weights.bin", offset: 0, length: 4, expected: 4))
        XCTAssertThrowsError(try resolver.bytes(location: "weights.bin", offset: 0, length: 8, expected: 4))
        // A symlink inside the folder that leads outside it is refused too.
        let outside = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: outside) }
        try data.write(to: outside.appendingPathComponent("secret.bin"))
        try FileManager.default.createSymbolicLink(
            at: directory.appendingPathComponent("link.bin"), withDestinationURL: outside.appendingPathComponent("secret.bin"))
        XCTAssertThrowsError(try resolver.bytes(location: "link.bin", offset: 0, length: 4, expected: 4))
    }
}
