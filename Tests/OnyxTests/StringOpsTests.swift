import XCTest
@testable import Onyx

final class StringOpsTests: XCTestCase {
    private func strings(_ values: [String], _ shape: [Int]? = nil) throws -> Tensor {
        try Tensor(shape: shape ?? [values.count], strings: values)
    }

    func testStringConcatBroadcasts() throws {
        let out = try SingleOp.run("StringConcat", opset: 20, inputs: [
            ("x", try strings(["a", "bé"], [2, 1])), ("y", try strings(["1", "2", ""])),
        ])[0]
        XCTAssertEqual(out.shape, [2, 3])
        XCTAssertEqual(try out.strings(), ["a1", "a2", "a", "bé1", "bé2", "bé"])
    }

    /// Python `str.split` semantics with and without a delimiter.
    func testStringSplit() throws {
        let input = try strings(["  a  b\u{3000}c ", "", "x,,y"])
        let spaced = try SingleOp.run("StringSplit", opset: 20, inputs: [("x", input)], outputs: 2)
        XCTAssertEqual(spaced[0].shape, [3, 3])
        XCTAssertEqual(try spaced[0].strings(), ["a", "b", "c", "", "", "", "x,,y", "", ""])
        XCTAssertEqual(try spaced[1].scalars(as: Int64.self), [3, 0, 1])
        let limited = try SingleOp.run(
            "StringSplit", opset: 20, inputs: [("x", input)], attributes: [.int("maxsplit", 1)], outputs: 2)
        XCTAssertEqual(try limited[0].strings(), ["a", "b\u{3000}c ", "", "", "x,,y", ""])
        let commas = try SingleOp.run(
            "StringSplit", opset: 20, inputs: [("x", input)], attributes: [.string("delimiter", ",")], outputs: 2)
        XCTAssertEqual(try commas[1].scalars(as: Int64.self), [1, 1, 3])
        XCTAssertEqual(try commas[0].strings(), ["  a  b\u{3000}c ", "", "", "", "", "", "x", "", "y"])
        let twoChar = try SingleOp.run(
            "StringSplit", opset: 20, inputs: [("x", try strings(["a--b---c"]))],
            attributes: [.string("delimiter", "--"), .int("maxsplit", 5)], outputs: 2)
        XCTAssertEqual(try twoChar[0].strings(), ["a", "b", "-c"])
    }

    func testStringNormalizer() throws {
        let words = try strings(["Monday", "tuesday", "MONDAY", "Idle"], [1, 4])
        let out = try SingleOp.run("StringNormalizer", opset: 10, inputs: [("x", words)], attributes: [
            .string("case_change_action", "LOWER"), Attribute(name: "stopwords", value: .strings([Array("monday".utf8)])),
        ])[0]
        XCTAssertEqual(out.shape, [1, 2])
        XCTAssertEqual(try out.strings(), ["tuesday", "idle"])
        let sensitive = try SingleOp.run("StringNormalizer", opset: 10, inputs: [("x", try strings(["Monday", "monday"]))], attributes: [
            .int("is_case_sensitive", 1), Attribute(name: "stopwords", value: .strings([Array("monday".utf8)])),
        ])[0]
        XCTAssertEqual(try sensitive.strings(), ["Monday"])
        let allGone = try SingleOp.run("StringNormalizer", opset: 10, inputs: [("x", try strings(["a"]))], attributes: [
            Attribute(name: "stopwords", value: .strings([Array("A".utf8)])),
        ])[0]
        XCTAssertEqual(allGone.shape, [1])
        XCTAssertEqual(try allGone.strings(), [""])
        let turkish = try SingleOp.run("StringNormalizer", opset: 10, inputs: [("x", try strings(["istanbul"]))], attributes: [
            .string("case_change_action", "UPPER"), .string("locale", "tr_TR"),
        ])[0]
        XCTAssertEqual(try turkish.strings(), ["İSTANBUL"])
        XCTAssertThrowsError(try SingleOp.run("StringNormalizer", opset: 10, inputs: [("x", try strings(["a"]))], attributes: [
            .string("locale", "xx_YY"),
        ])) { error in XCTAssertEqual((error as? OnyxError)?.kind, .unsupportedOperator) }
        XCTAssertThrowsError(try SingleOp.run("StringNormalizer", opset: 10, inputs: [("x", try strings(["a", "b"], [2, 1]))]))
    }

    /// RE2 classes are ASCII-only; `(?P<name>` and `\pL` are translated.
    func testRegexFullMatch() throws {
        func match(_ pattern: String, _ values: [String]) throws -> [Bool] {
            try SingleOp.run("RegexFullMatch", opset: 20, inputs: [("x", try strings(values))], attributes: [
                .string("pattern", pattern),
            ])[0].scalars(as: Bool.self)
        }
        XCTAssertEqual(try match("\\d+", ["123", "12a", "\u{663}"]), [true, false, false])
        XCTAssertEqual(try match("[\\w.]+", ["a.b_c", "é"]), [true, false])
        XCTAssertEqual(try match("(?P<word>\\pL+)-\\p{Nd}", ["héllo-1", "x-"]), [true, false])
        XCTAssertEqual(try match("ab|cd", ["ab", "cd", "abcd"]), [true, true, false])
        XCTAssertThrowsError(try match("(unclosed", ["x"]))
        XCTAssertThrowsError(try match("a\\Cb", ["x"]))
    }
}
