/// Col2Im (opset 18): sums column blocks back into an image, the inverse
/// layout of im2col (PyTorch's `fold`), for any number of spatial axes.
///
/// `input` is (N, C·∏block_shape, L) with the L blocks in row-major order
/// of their grid positions, `blocks[i] = (image[i] + pads_begin[i] +
/// pads_end[i] - dilations[i]·(block[i] - 1) - 1) / strides[i] + 1`. Element
/// (k, b) lands at `b[i]·strides[i] - pads_begin[i] + k[i]·dilations[i]` and
/// is dropped outside the image. Overlaps add: floats in their own type
/// (bfloat16 / float8 in Float), integers wrapping, bool as OR, complex per
/// component; strings have no sum.
enum Col2ImOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Col2Im", since: 18) { context in
            let attributes = (try context.ints("dilations"), try context.ints("pads"), try context.ints("strides"))
            return ClosureKernel { inputs, _ in
                let layout = try Col2ImLayout(
                    input: try inputs.tensor(0), image: try inputs.tensor(1), block: try inputs.tensor(2),
                    dilations: attributes.0, pads: attributes.1, strides: attributes.2)
                return [.tensor(try layout.fold(try inputs.tensor(0)))]
            }
        }
    }
}

/// The validated geometry of one Col2Im call.
struct Col2ImLayout {
    let outShape: [Int]
    let kernelCount: Int
    let blockCount: Int
    let planes: Int
    let imageCount: Int
    /// Per kernel offset, the image offset of each block (or -1: dropped).
    let targets: [[Int]]

    init(input: Tensor, image: Tensor, block: Tensor, dilations: [Int]?, pads: [Int]?, strides: [Int]?) throws {
        let imageShape = try Self.positive(image, "image_shape", allowZero: true)
        let blockShape = try Self.positive(block, "block_shape", allowZero: false)
        let rank = imageShape.count
        guard blockShape.count == rank, rank >= 1 else {
            throw OnyxError.invalidModel("image_shape \(imageShape) and block_shape \(blockShape) differ in length")
        }
        let dilations = dilations ?? Array(repeating: 1, count: rank)
        let strides = strides ?? Array(repeating: 1, count: rank)
        let pads = pads ?? Array(repeating: 0, count: 2 * rank)
        guard dilations.count == rank, strides.count == rank, pads.count == 2 * rank,
              dilations.allSatisfy({ $0 > 0 }), strides.allSatisfy({ $0 > 0 }), pads.allSatisfy({ $0 >= 0 && $0 < 1 << 40 })
        else { throw OnyxError.invalidModel("dilations / strides must be \(rank) positive values and pads \(2 * rank) non-negative ones") }
        guard input.shape.count == 3 else { throw OnyxError.shapeMismatch("input of shape \(input.shape) must be 3-D") }
        kernelCount = try Tensor.checkedCount(blockShape)
        guard input.shape[1] % kernelCount == 0 else {
            throw OnyxError.shapeMismatch("input dimension 1 (\(input.shape[1])) is not a multiple of \(kernelCount)")
        }
        var blocks: [Int] = []
        for axis in 0..<rank {
            let (span, overflow) = dilations[axis].multipliedReportingOverflow(by: blockShape[axis] - 1)
            guard !overflow else { throw OnyxError.invalidModel("dilated block is too large") }
            let room = imageShape[axis] &+ pads[axis] &+ pads[axis + rank] &- span &- 1
            guard room >= 0 else { throw OnyxError.shapeMismatch("block does not fit the padded image on axis \(axis)") }
            blocks.append(room / strides[axis] + 1)
        }
        blockCount = try Tensor.checkedCount(blocks)
        guard input.shape[2] == blockCount else {
            throw OnyxError.shapeMismatch("input has \(input.shape[2]) blocks, the geometry gives \(blocks) = \(blockCount)")
        }
        planes = input.shape[0] &* (input.shape[1] / kernelCount)
        outShape = [input.shape[0], input.shape[1] / kernelCount] + imageShape
        imageCount = try Tensor.checkedCount(imageShape)
        try SpatialSupport.checkOutput(input.elementType, count: try Tensor.checkedCount(outShape))
        var targets: [[Int]] = []
        for k in 0..<kernelCount {
            var rest = k
            var offsets = [Int](repeating: 0, count: rank)
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                offsets[axis] = rest % blockShape[axis]
                rest /= blockShape[axis]
            }
            let maps = (0..<rank).map { axis in
                (0..<blocks[axis]).map { b -> Int in
                    let position = b &* strides[axis] &- pads[axis] &+ offsets[axis] &* dilations[axis]
                    return position >= 0 && position < imageShape[axis] ? position : -1
                }
            }
            let plan = SpatialSupport.separablePlan(inputShape: imageShape, maps: maps)
            targets.append(plan.outer.flatMap { base in plan.inner.map { base < 0 || $0 < 0 ? -1 : base &+ $0 } })
        }
        self.targets = targets
    }

    private static func positive(_ tensor: Tensor, _ name: String, allowZero: Bool) throws -> [Int] {
        try tensor.int64Values().map { value in
            guard value > 0 || (allowZero && value == 0), let result = Int(exactly: value), result < 1 << 40 else {
                throw OnyxError.invalidModel("\(name) entry \(value) is out of range")
            }
            return result
        }
    }

    /// Calls `body(target, source)` for every element that lands in the image, in the reference's order.
    func forEachContribution(_ body: (Int, Int) -> Void) {
        for plane in 0..<planes {
            for k in 0..<kernelCount {
                let source = (plane &* kernelCount &+ k) &* blockCount
                let image = plane &* imageCount
                for (b, target) in targets[k].enumerated() where target >= 0 { body(image &+ target, source &+ b) }
            }
        }
    }

    func fold(_ input: Tensor) throws -> Tensor {
        try input.elementType.visit(Col2ImFold(layout: self, input: input))
    }
}

private struct Col2ImFold: ElementVisitor {
    let layout: Col2ImLayout
    let input: Tensor

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        try Tensor.make(T.self, layout.outShape) { out in
            try input.withElements(T.self) { x in layout.forEachContribution { out[$0] += x[$1] } }
        }
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        try Tensor.make(T.self, layout.outShape) { out in
            try input.withElements(T.self) { x in layout.forEachContribution { out[$0] &+= x[$1] } }
        }
    }

    func visitBool() throws -> Tensor {
        try Tensor.make(Bool.self, layout.outShape) { out in
            try input.withElements(Bool.self) { x in layout.forEachContribution { out[$0] = out[$0] || x[$1] } }
        }
    }

    func visitOther(_ type: ElementType) throws -> Tensor {
        let count = try Tensor.checkedCount(layout.outShape)
        if type.isInteger {
            let x = try input.int64Values()
            var out = [Int64](repeating: 0, count: count)
            layout.forEachContribution { out[$0] &+= x[$1] }
            return try Tensor.fromInt64s(out, shape: layout.outShape, as: type)
        }
        if type.isFloatingPoint {
            let x = try input.floatValues()
            var out = [Float](repeating: 0, count: count)
            layout.forEachContribution { out[$0] += x[$1] }
            return try Tensor.fromFloats(out, shape: layout.outShape, as: type)
        }
        guard type == .complex64 || type == .complex128 else {
            throw OnyxError.wrongElementType("Col2Im cannot add \(type) elements")
        }
        let x = try input.complexComponents()
        var out = [Double](repeating: 0, count: 2 &* count)
        layout.forEachContribution { target, source in
            out[2 &* target] += x[2 &* source]
            out[2 &* target &+ 1] += x[2 &* source &+ 1]
        }
        return try Tensor.make(type, layout.outShape) { raw in
            for (index, value) in out.enumerated() {
                if type == .complex64 {
                    raw.storeBytes(of: Float(value).bitPattern.littleEndian, toByteOffset: index &* 4, as: UInt32.self)
                } else {
                    raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: index &* 8, as: UInt64.self)
                }
            }
        }
    }
}
