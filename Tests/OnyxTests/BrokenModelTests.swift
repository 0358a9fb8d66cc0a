import Foundation
import XCTest
@testable import Onyx

/// Every broken file in Fixtures/broken (made by tools/make-broken-models.py)
/// is refused with an error that names the problem; `onyx info` exits 1 with
/// one line on stderr.
final class BrokenModelTests: XCTestCase {
    struct Case: Decodable {
        var file: String
        var `case`: String
        var expect: String
    }

    func cases() throws -> [Case] {
        let data = try Data(contentsOf: TestPaths.fixture("broken/manifest.json"))
        return try JSONDecoder().decode([Case].self, from: data)
    }

    func testLibraryRefusesEveryBrokenFile() throws {
        let cases = try cases()
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        for item in cases {
            let url = TestPaths.fixture("broken/\(item.file)")
            XCTAssertThrowsError(try Model(contentsOf: url), item.case) { error in
                guard let error = error as? OnyxError else {
                    return XCTFail("\(item.file): not an OnyxError: \(error)")
                }
                let text = error.description.lowercased()
                XCTAssertTrue(text.contains(item.expect), "\(item.file): \"\(text)\" lacks \"\(item.expect)\"")
                XCTAssertTrue(text.contains(item.file.lowercased()), "\(item.file): message does not name the file")
                XCTAssertFalse(text.contains("\n"), "\(item.file): message spans lines")
            }
        }
    }

    func testCommandLineExitsOneWithOneLine() throws {
        for item in try cases() {
            let result = try TestPaths.runOnyx(["info", TestPaths.fixture("broken/\(item.file)").path])
            XCTAssertEqual(result.status, 1, "\(item.file): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", item.file)
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(item.file): \(result.stderr)")
            XCTAssertTrue(result.stderr.lowercased().contains(item.expect), "\(item.file): \(result.stderr)")
        }
    }

    func testSubgraphDepthIsBoundedInTheIRWalkToo() throws {
        // 40 nested If levels fit in the protobuf bound of 100 messages only
        // when it is raised; the IR's own subgraph bound must still refuse them.
        let leaf = Graph(name: "leaf", outputs: [ValueInfo(name: "c", type: nil)])
        var graph = leaf
        for level in 0..<40 {
            let node = Node(
                name: "if\(level)", opType: "If", inputs: ["c"], outputs: ["o\(level)"],
                attributes: [
                    Attribute(name: "then_branch", value: .graph(graph)),
                    Attribute(name: "else_branch", value: .graph(leaf)),
                ])
            graph = Graph(name: "g\(level)", nodes: [node], outputs: [ValueInfo(name: "o\(level)", type: nil)])
        }
        graph.inputs = [ValueInfo(name: "c", type: .tensor(elementType: .bool, shape: []))]
        let model = Model(opsetImports: [OpsetImport(domain: "", version: 13)], graph: graph)
        let bytes = try ModelWriter.serialize(model)
        var options = LoadOptions()
        options.maxMessageDepth = 1000
        options.maxSubgraphDepth = 16
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try ModelLoader.load(serialized: $0, options: options) }) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .resourceLimit, "\(error)")
        }
        options.maxSubgraphDepth = 64
        let loaded = try bytes.withUnsafeBytes { try ModelLoader.load(serialized: $0, options: options) }
        XCTAssertEqual(loaded, model)
    }
}
