import Onyx
import XCTest

/// Asserts that optimizing `model` rewrites it as expected and keeps what
/// it computes.
///
/// Runs the pass named `pass` alone (or the whole standard pipeline when
/// nil, with the off-by-default passes named in `enable` on) and checks that:
/// - the op counts before optimizing match `before`, and after match
///   `after` (only the op types listed are checked; 0 means none left);
/// - at least one rewrite happened;
/// - output and input names are unchanged;
/// - on seeded random inputs, the optimized and original models give the
///   same outputs within `tolerance` (relative, see
///   ``OptimizerAssertions/compare(_:_:)``).
///
/// ```swift
/// assertFolds(try model(), pass: "fold-batchnorm",
///             before: ["BatchNormalization": 1], after: ["BatchNormalization": 0, "Conv": 1])
/// ```
///
/// Returns the outcome (optimized model, report, error) for further checks,
/// or nil after a failure.
@discardableResult
public func assertFolds(
    _ model: @autoclosure () throws -> Model, pass: String? = nil, enable: Set<String> = [], before: [String: Int] = [:],
    after: [String: Int], tolerance: Double = 1e-5, seed: UInt64 = 0,
    file: StaticString = #filePath, line: UInt = #line
) -> OptimizerAssertions.Outcome? {
    let outcome: OptimizerAssertions.Outcome
    do {
        outcome = try OptimizerAssertions.check(model(), pass: pass, enable: enable, seed: seed)
    } catch {
        XCTFail("optimizing failed: \(error)", file: file, line: line)
        return nil
    }
    let report = outcome.report.text()
    for (op, count) in before.sorted(by: { $0.key < $1.key }) where outcome.countsBefore[op, default: 0] != count {
        XCTFail("before: \(outcome.countsBefore[op, default: 0]) \(op), expected \(count)", file: file, line: line)
    }
    for (op, count) in after.sorted(by: { $0.key < $1.key }) where outcome.countsAfter[op, default: 0] != count {
        XCTFail("after: \(outcome.countsAfter[op, default: 0]) \(op), expected \(count)\n\(report)", file: file, line: line)
    }
    if outcome.report.rewrites == 0 {
        XCTFail("no rewrite happened\n\(report)", file: file, line: line)
    }
    if !(outcome.maxError <= tolerance) {
        XCTFail("outputs differ by \(outcome.maxError) (tolerance \(tolerance))\n\(report)", file: file, line: line)
    }
    return outcome
}

/// Asserts that the pass named `pass` leaves `model` unchanged, and — when
/// `reason` is given — that it declined a candidate with a reason
/// containing `reason`. The unchanged model must still run.
@discardableResult
public func assertDoesNotFold(
    _ model: @autoclosure () throws -> Model, pass: String, reason: String? = nil, seed: UInt64 = 0,
    file: StaticString = #filePath, line: UInt = #line
) -> OptimizerAssertions.Outcome? {
    let outcome: OptimizerAssertions.Outcome
    do {
        outcome = try OptimizerAssertions.check(model(), pass: pass, seed: seed)
    } catch {
        XCTFail("optimizing failed: \(error)", file: file, line: line)
        return nil
    }
    let report = outcome.report.text()
    if outcome.report.rewrites != 0 || outcome.optimized.graph != outcome.original.graph {
        XCTFail("\(pass) changed the model\n\(report)\n\(outcome.report.log.joined(separator: "\n"))", file: file, line: line)
    }
    if let reason {
        let declines = outcome.report.pass(pass)?.declines ?? []
        if !declines.contains(where: { $0.reason.contains(reason) }) {
            XCTFail("no decline mentions \"\(reason)\"\n\(report)", file: file, line: line)
        }
    }
    return outcome
}
