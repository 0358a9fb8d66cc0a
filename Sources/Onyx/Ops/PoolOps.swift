/// MaxPool, AveragePool, LpPool and their global forms.
///
/// Windows follow ``ConvGeometry`` (kernel_shape, strides, dilations, pads
/// or auto_pad, ceil_mode). MaxPool's optional Indices output flattens
/// (n, c, spatial) in row-major order, or column-major over the spatial
/// dims when storage_order = 1. A NaN in a max window gives NaN (its index
/// is the first NaN's). float32 2-D pools and the global pools take the C
/// kernels of `PoolOps+Float.swift`. AveragePool divides by the taps inside the
/// input, or with count_include_pad = 1 by the taps inside the padded input.
/// Statistics accumulate in Double.
enum PoolOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("MaxPool", versions: [1, 8, 10, 11, 12, 22]) { context in
            let attributes = try ConvGeometry.Attributes(context)
            let storageOrder = try context.int("storage_order", default: 0)
            let wantsIndices = context.hasOutput(1)
            return ClosureKernel { inputs, run in
                let x = try inputs.tensor(0)
                if !wantsIndices, let y = try fastPool(x, attributes, kind: .max, threads: run.options.threads) {
                    return [.tensor(y)]
                }
                return try pool(x, attributes, kind: .max, storageOrder: storageOrder, wantsIndices: wantsIndices)
            }
        }
        registry.register("AveragePool", versions: [1, 7, 10, 11, 19, 22]) { context in
            let attributes = try ConvGeometry.Attributes(context)
            let includePad = try context.int("count_include_pad", default: 0) != 0
            return ClosureKernel { inputs, run in
                let x = try inputs.tensor(0)
                if let y = try fastPool(x, attributes, kind: .average(includePad: includePad), threads: run.options.threads) {
                    return [.tensor(y)]
                }
                return try pool(x, attributes, kind: .average(includePad: includePad))
            }
        }
        registry.register("LpPool", versions: [1, 2, 11, 18, 22]) { context in
            let attributes = try ConvGeometry.Attributes(context)
            let p = try context.int("p", default: 2)
            return ClosureKernel { inputs, _ in try pool(try inputs.tensor(0), attributes, kind: .lp(Double(p))) }
        }
        for (name, kind) in [("GlobalMaxPool", PoolKind.max), ("GlobalAveragePool", .average(includePad: false))] {
            registry.register(name, versions: [1, 22]) { _ in
                ClosureKernel { inputs, run in
                    let x = try inputs.tensor(0)
                    let isMax: Bool
                    if case .max = kind { isMax = true } else { isMax = false }
                    if let y = try fastGlobal(x, max: isMax, threads: run.options.threads) { return [.tensor(y)] }
                    return try global(x, kind: kind)
                }
            }
        }
        registry.register("GlobalLpPool", versions: [1, 2, 22]) { context in
            let p = try context.int("p", default: 2)
            return ClosureKernel { inputs, _ in try global(try inputs.tensor(0), kind: .lp(Double(p))) }
        }
    }

    enum PoolKind: Sendable {
        case max
        case average(includePad: Bool)
        case lp(Double)
    }

    static func global(_ x: Tensor, kind: PoolKind) throws -> [Value?] {
        guard x.shape.count >= 3 else { throw OnyxError.shapeMismatch("input must have rank ≥ 3, got \(x.shape)") }
        var attributes = try ConvGeometry.Attributes.plain()
        attributes.kernel = Array(x.shape[2...])
        return try pool(x, attributes, kind: kind)
    }

    static func pool(
        _ x: Tensor, _ attributes: ConvGeometry.Attributes, kind: PoolKind, storageOrder: Int = 0, wantsIndices: Bool = false
    ) throws -> [Value?] {
        guard x.shape.count >= 3 else { throw OnyxError.shapeMismatch("input must have rank ≥ 3, got \(x.shape)") }
        guard x.elementType.isFloatingPoint || x.elementType == .int8 || x.elementType == .uint8 else {
            throw OnyxError.wrongElementType("pooling is not defined on \(x.elementType)")
        }
        let spatial = Array(x.shape[2...])
        let geometry = try ConvGeometry(attributes, input: spatial)
        let planes = x.shape[0] * x.shape[1]
        let inputSize = try Tensor.checkedCount(spatial)
        let outputSize = try Tensor.checkedCount(geometry.output)
        let outShape = Array(x.shape[0..<2]) + geometry.output
        let values = try x.doubleValues()
        var result = try TensorAllocation.array(repeating: 0 as Double, shape: outShape)
        var indices = [Int64](repeating: 0, count: wantsIndices ? result.count : 0)
        let columnMajor = storageOrder == 1 ? columnMajorOffsets(spatial) : nil
        // Taps counted for AveragePool with count_include_pad: inside the padded extent.
        // Built only when a plane will read it, after the output passed its size check
        // (with no planes the output is empty however large one plane would be).
        var paddedTaps: [Int] = []
        if planes > 0, case .average(includePad: true) = kind { paddedTaps = paddedTapCounts(geometry) }
        for plane in 0..<planes {
            var best = [Double](repeating: -.infinity, count: outputSize)
            var bestIndex = [Int](repeating: -1, count: outputSize)
            var sum = [Double](repeating: 0, count: outputSize)
            var inside = [Int](repeating: 0, count: outputSize)
            let base = plane * inputSize
            geometry.forEachTap { out, _, offset in
                guard let offset else { return }
                let value = values[base + offset]
                inside[out] += 1
                switch kind {
                case .max:
                    if bestIndex[out] < 0 || (!best[out].isNaN && (value > best[out] || value.isNaN)) {
                        best[out] = value
                        bestIndex[out] = offset
                    }
                case .average: sum[out] += value
                case .lp(let p): sum[out] += Foundation.pow(abs(value), p)
                }
            }
            for out in 0..<outputSize {
                let target = plane * outputSize + out
                switch kind {
                case .max:
                    result[target] = best[out]
                    if wantsIndices {
                        let offset = bestIndex[out] < 0 ? 0 : bestIndex[out]
                        let local = columnMajor.map { $0[offset] } ?? offset
                        indices[target] = Int64(plane * inputSize + local)
                    }
                case .average(let includePad):
                    let count = includePad ? paddedTaps[out] : inside[out]
                    result[target] = count > 0 ? sum[out] / Double(count) : .nan
                case .lp(let p):
                    result[target] = Foundation.pow(sum[out], 1 / p)
                }
            }
        }
        var outputs: [Value?] = [.tensor(try encode(result, shape: outShape, as: x.elementType))]
        if wantsIndices { outputs.append(.tensor(try Tensor(shape: outShape, scalars: indices))) }
        return outputs
    }

    static func encode(_ values: [Double], shape: [Int], as type: ElementType) throws -> Tensor {
        if type.isFloatingPoint { return try Tensor.fromDoubles(values, shape: shape, as: type) }
        return try Tensor.fromInt64s(values.map { $0.isFinite ? Int64($0.rounded(.towardZero)) : 0 }, shape: shape, as: type)
    }

    /// Column-major offset of each row-major spatial offset.
    static func columnMajorOffsets(_ dims: [Int]) -> [Int] {
        let count = dims.reduce(1, *)
        let rowStrides = Tensor.strides(dims)
        var colStrides = [Int](repeating: 1, count: dims.count)
        for axis in 1..<max(dims.count, 1) { colStrides[axis] = colStrides[axis - 1] * dims[axis - 1] }
        return (0..<count).map { offset in
            var rest = offset
            var result = 0
            for axis in 0..<dims.count {
                let position = rest / rowStrides[axis]
                rest -= position * rowStrides[axis]
                result += position * colStrides[axis]
            }
            return result
        }
    }

    /// Per output position, the taps that fall inside input + explicit padding.
    static func paddedTapCounts(_ g: ConvGeometry) -> [Int] {
        var counts = [Int](repeating: 0, count: g.outputCount)
        let outStrides = Tensor.strides(g.output)
        let kernelStrides = Tensor.strides(g.kernel)
        for out in 0..<g.outputCount {
            for tap in 0..<g.kernelCount {
                var inside = true
                for axis in 0..<g.input.count {
                    let o = (out / outStrides[axis]) % g.output[axis]
                    let k = (tap / kernelStrides[axis]) % g.kernel[axis]
                    let position = o * g.strides[axis] + k * g.dilations[axis] - g.padBegin[axis]
                    if position < -g.padBegin[axis] || position >= g.input[axis] + g.padEnd[axis] { inside = false }
                }
                if inside { counts[out] += 1 }
            }
        }
        return counts
    }
}

extension ConvGeometry.Attributes {
    /// No strides, pads or dilations: a window over the whole extent.
    static func plain() throws -> ConvGeometry.Attributes {
        ConvGeometry.Attributes(kernel: nil, strides: nil, dilations: nil, pads: nil, autoPad: "NOTSET", ceilMode: false)
    }
}

import Foundation
