/// A node prepared for execution: attributes read and checked, constant
/// operands captured. Kernels hold no per-run state, so one kernel may run
/// concurrently from several threads.
protocol Kernel: Sendable {
    /// Computes the node's outputs. `inputs` has one entry per node input,
    /// nil where an optional input is omitted. Returns one entry per node
    /// output (nil for an optional output the kernel does not produce).
    func run(_ inputs: [Value?], _ context: RunContext) throws -> [Value?]

    /// Input positions whose buffer the kernel may overwrite with its
    /// output when the plan donates it (`RunContext.donated`): the kernel
    /// reads element i of that input before writing element i of the
    /// output and reads no other element after writing one. Empty (the
    /// default) for kernels that never write in place.
    var inPlaceInputs: [Int] { get }
}

extension Kernel {
    var inPlaceInputs: [Int] { [] }
}

/// A kernel from a closure, for operators with little to prepare.
struct ClosureKernel: Kernel {
    let body: @Sendable ([Value?], RunContext) throws -> [Value?]
    let inPlaceInputs: [Int]

    /// `inPlaceInputs`: see ``Kernel/inPlaceInputs``; `body` must honour it.
    init(inPlaceInputs: [Int] = [], _ body: @escaping @Sendable ([Value?], RunContext) throws -> [Value?]) {
        self.body = body
        self.inPlaceInputs = inPlaceInputs
    }

    func run(_ inputs: [Value?], _ context: RunContext) throws -> [Value?] { try body(inputs, context) }
}

/// What a kernel sees of the running plan: outer-scope values for
/// subgraphs, and run options.
struct RunContext: Sendable {
    /// Looks up a value visible from the current graph by name.
    let lookup: @Sendable (String) -> Value?
    let options: RunOptions
    /// The buffer of an input that dies at this step and that nothing else
    /// holds, handed to a kernel with ``Kernel/inPlaceInputs`` so it may
    /// write its output there; nil otherwise. A kernel uses it only for an
    /// operand whose `buffer` is this very object and whose elements map one
    /// to one onto the output's.
    var donated: TensorBuffer? = nil

    /// `donated` when it is `operand`'s buffer and `operand` has
    /// `outputCount` elements, else nil.
    func donation(for operand: Tensor, outputCount: Int) -> TensorBuffer? {
        guard let donated, let buffer = operand.buffer, donated === buffer, operand.count == outputCount else { return nil }
        return donated
    }
}

/// Settings of one run.
struct RunOptions: Sendable {
    var maxLoopIterations: Int = 1 << 20
    var memoryLimitBytes: Int = ModelLoader.defaultMemoryLimit
    /// Threads a kernel may split its work over; nil means one per active core.
    var threads: Int?
    /// Whether independent nodes may run at the same time.
    var interOp: Bool = true
    /// Times every node the plans run (subgraphs included) when set.
    var profiler: Profiler?
}

extension Array where Element == Value? {
    /// Input `index` as a tensor; throws when absent or not a tensor.
    func tensor(_ index: Int) throws -> Tensor {
        guard index < count, let value = self[index] else {
            throw OnyxError.invalidModel("input \(index) is required")
        }
        return try value.asTensor()
    }

    /// Input `index` as a tensor, or nil when omitted.
    func optionalTensor(_ index: Int) throws -> Tensor? {
        guard index < count, let value = self[index] else { return nil }
        if case .none = value { return nil }
        return try value.asTensor()
    }
}
