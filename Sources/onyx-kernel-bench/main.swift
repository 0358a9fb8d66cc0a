import Foundation
import Onyx

/// `onyx-kernel-bench [--duration S] [--rounds R] [--threads 1,2] [--shape MxNxK[:a|:b][:r] ...]`:
/// GFLOP/s of the float32 GEMM on square sizes and on GEMMs shaped like
/// ResNet-50 convolutions (weights pre-packed as A, as the Conv kernel does),
/// or on the shapes given (`:a` / `:b` pre-pack that operand, `:r` adds a
/// residual matrix and a Relu in the epilogue).
let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}
let duration = option("--duration").flatMap(Double.init) ?? 1
let rounds = max(1, option("--rounds").flatMap(Int.init) ?? 5)
let threadCounts = (option("--threads") ?? "1,2").split(separator: ",").compactMap { Int($0) }.filter { $0 >= 1 }

struct Shape {
    let label: String
    let m, n, k: Int
    let prepacked: KernelBenchmark.Prepacked
    var residual = false
}
let customShapes: [Shape] = arguments.indices.compactMap { index in
    guard index > 0, arguments[index - 1] == "--shape" else { return nil }
    let parts = arguments[index].split(separator: ":")
    let dims = parts[0].split(separator: "x").compactMap { Int($0) }
    guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else { return nil }
    let flags = parts.dropFirst()
    let prepacked: KernelBenchmark.Prepacked = flags.contains("a") ? .a : flags.contains("b") ? .b : .none
    return Shape(label: "custom", m: dims[0], n: dims[1], k: dims[2], prepacked: prepacked, residual: flags.contains("r"))
}
let shapes: [Shape] = !customShapes.isEmpty ? customShapes : [256, 512, 1024, 2048].map { Shape(label: "square", m: $0, n: $0, k: $0, prepacked: .none) } + [
    Shape(label: "res2 3x3 conv", m: 64, n: 3136, k: 576, prepacked: .a),
    Shape(label: "res3 3x3 conv", m: 128, n: 784, k: 1152, prepacked: .a),
    Shape(label: "res4 3x3 conv", m: 256, n: 196, k: 2304, prepacked: .a),
    Shape(label: "res2 1x1 + add", m: 256, n: 3136, k: 64, prepacked: .a, residual: true),
    Shape(label: "res4 1x1 conv", m: 1024, n: 196, k: 256, prepacked: .a),
    Shape(label: "res5 1x1 conv", m: 2048, n: 49, k: 512, prepacked: .a),
    Shape(label: "fc 2048->1000", m: 1, n: 1000, k: 2048, prepacked: .b),
]

print("kernel: \(KernelBenchmark.kernelName)")
var header = "shape                 M     N     K"
for threads in threadCounts { header += String(repeating: " ", count: 4) + "\(threads) thr GFLOP/s" }
if threadCounts.count > 1 { header += "  speedup" }
print(header)
for shape in shapes {
    var line = shape.label.padding(toLength: 15, withPad: " ", startingAt: 0)
    line += [shape.m, shape.n, shape.k].map { String($0).leftPadded(6) }.joined()
    // Thread counts take turns over several rounds and each keeps its best
    // time, so a burst of load from elsewhere on the machine hits both alike.
    var best = [Double](repeating: .infinity, count: threadCounts.count)
    for _ in 0..<rounds {
        for (index, threads) in threadCounts.enumerated() {
            let seconds = try KernelBenchmark.sgemmSeconds(
                m: shape.m, n: shape.n, k: shape.k, threads: threads, prepacked: shape.prepacked,
                residual: shape.residual, duration: duration / Double(rounds))
            best[index] = min(best[index], seconds)
        }
    }
    let rates = best.map { 2.0 * Double(shape.m) * Double(shape.n) * Double(shape.k) / $0 / 1e9 }
    for rate in rates { line += String(format: "%18.1f", rate) }
    if rates.count > 1, let first = rates.first, let last = rates.last, first > 0 {
        line += String(format: "%8.2fx", last / first)
    }
    print(line)
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
