import Foundation

/// One ONNX backend test case: `model.onnx` and `test_data_set_N/` folders
/// of `input_K.pb` / `output_K.pb` TensorProtos.
///
/// Comparison follows onnx's runner: same output count, shape and element
/// type; floats `allclose` with rtol 1e-3 and atol 1e-7 unless the case's
/// `data.json` says otherwise, NaN equal to NaN; everything else exact.
package struct ConformanceCase: Sendable {
    /// Outcome of running a case.
    package enum Outcome: String, Codable, Sendable {
        case pass, mismatch, error, skip
    }

    package struct Result: Codable, Sendable {
        package var outcome: Outcome
        package var message: String

        package init(outcome: Outcome, message: String) {
            self.outcome = outcome
            self.message = message
        }
    }

    package let directory: URL
    package var rtol: Double = 1e-3
    package var atol: Double = 1e-7

    package init(directory: URL) {
        self.directory = directory
        let json = directory.appendingPathComponent("data.json")
        if let data = try? Data(contentsOf: json),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            if let rtol = object["rtol"] as? Double { self.rtol = rtol }
            if let atol = object["atol"] as? Double { self.atol = atol }
        }
    }

    /// `parent/case`, e.g. `node/test_add`.
    package var name: String {
        directory.deletingLastPathComponent().lastPathComponent + "/" + directory.lastPathComponent
    }

    /// Runs every data set of the case, twice in one session: the second
    /// run cuts its tensors from the run arena the first one sized, and
    /// both must match.
    package func run(options: SessionOptions = .init()) -> Result {
        do {
            let session = try Session(contentsOf: directory.appendingPathComponent("model.onnx"), options: options)
            let sets = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasPrefix("test_data_set_") }.sorted()
            guard !sets.isEmpty else { return Result(outcome: .skip, message: "no test data") }
            for set in sets {
                let folder = directory.appendingPathComponent(set)
                var feeds: [String: Value] = [:]
                let declared = session.model.graph.inputs
                let runtime = session.inputs
                for index in 0..<runtime.count + (declared.count - runtime.count) {
                    let file = folder.appendingPathComponent("input_\(index).pb")
                    guard FileManager.default.fileExists(atPath: file.path) else { break }
                    let (name, tensor) = try TensorFiles.read(contentsOf: file)
                    // Inputs are matched by name when the file names one, else by position.
                    let target = declared.contains { $0.name == name } ? name
                        : (index < runtime.count ? runtime[index].name : name)
                    feeds[target] = .tensor(tensor)
                }
                for pass in ["", " (second run)"] {
                    let outputs = try session.runValues(feeds)
                    for (index, output) in session.outputs.enumerated() {
                        let file = folder.appendingPathComponent("output_\(index).pb")
                        guard FileManager.default.fileExists(atPath: file.path) else {
                            return Result(outcome: .skip, message: "\(set): output_\(index).pb is missing")
                        }
                        let (_, expected) = try TensorFiles.read(contentsOf: file)
                        guard index < outputs.count else {
                            return Result(outcome: .mismatch, message: "output \(output.name) was not produced")
                        }
                        let actual = try outputs[index].asTensor()
                        if let problem = compare(actual, expected) {
                            return Result(outcome: .mismatch, message: "\(set)\(pass): output \"\(output.name)\": \(problem)")
                        }
                    }
                }
            }
            return Result(outcome: .pass, message: "")
        } catch {
            return Result(outcome: .error, message: "\(error)")
        }
    }

    /// nil when `actual` matches `expected`, else what differs.
    package func compare(_ actual: Tensor, _ expected: Tensor) -> String? {
        guard actual.elementType == expected.elementType else {
            return "element type \(actual.elementType), expected \(expected.elementType)"
        }
        guard actual.shape == expected.shape else { return "shape \(actual.shape), expected \(expected.shape)" }
        if actual.elementType == .string {
            return actual.stringBytes == expected.stringBytes ? nil : "strings differ"
        }
        if actual.elementType.isFloatingPoint || actual.elementType == .complex64 || actual.elementType == .complex128 {
            let a: [Double]
            let e: [Double]
            do {
                if actual.elementType == .complex64 || actual.elementType == .complex128 {
                    a = try actual.complexComponents()
                    e = try expected.complexComponents()
                } else {
                    a = try actual.doubleValues()
                    e = try expected.doubleValues()
                }
            } catch {
                return "cannot compare: \(error)"
            }
            var worst = 0.0
            var worstIndex = -1
            for i in 0..<min(a.count, e.count) {
                let x = a[i]
                let y = e[i]
                if x.isNaN && y.isNaN { continue }
                if x == y { continue }
                let excess = abs(x - y) - (atol + rtol * abs(y))
                if excess > 0 || x.isNaN || y.isNaN {
                    if excess.isNaN || excess > worst || worstIndex < 0 {
                        worst = excess.isNaN ? .infinity : excess
                        worstIndex = i
                    }
                }
            }
            if worstIndex >= 0 {
                return "element \(worstIndex) is \(a[worstIndex]), expected \(e[worstIndex]) (rtol \(rtol), atol \(atol))"
            }
            return nil
        }
        let same = actual.withUnsafeBytes { x in expected.withUnsafeBytes { y in x.elementsEqual(y) } }
        if same { return nil }
        if let a = try? actual.int64Values(), let e = try? expected.int64Values(),
           let index = a.indices.first(where: { $0 < e.count && a[$0] != e[$0] }) {
            return "element \(index) is \(a[index]), expected \(e[index])"
        }
        return "values differ"
    }
}
