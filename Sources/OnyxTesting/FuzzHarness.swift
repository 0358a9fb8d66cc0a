import Foundation
import Onyx

/// One fuzzing step over load + plan + run, shared by the libFuzzer target
/// (`Fuzz/`) and the regression replay in `swift test`.
///
/// The bytes are parsed as a serialized `ModelProto`. When it loads and
/// plans, every runtime input is fed a tensor of its declared element type
/// and shape (unknown or symbolic dims become 2), whose bytes cycle
/// through the fuzz input itself so that the fuzzer steers the values too.
/// Each step runs under small limits (``memoryLimitBytes``,
/// ``maxLoopIterations``, one thread) so that one input cannot exhaust the
/// machine or run for long. Every error is swallowed: the property under
/// test is that no input crashes or hangs the process.
public enum FuzzHarness {
    /// Per-run memory limit (bytes) for loading and running.
    public static let memoryLimitBytes = 32 << 20
    /// Loop/Scan iteration cap.
    public static let maxLoopIterations = 256
    /// Inputs with more elements than this are not fed (the step ends after planning).
    public static let maxInputElements = 1 << 14

    /// What one step reached, for tests and statistics.
    public enum Outcome: Equatable, Sendable {
        /// The bytes are not a model Onyx accepts.
        case refusedByLoader
        /// The model loaded but could not be planned.
        case refusedByPlanner
        /// An input could not be synthesized (non-tensor or too large).
        case notRun
        /// The run threw an error.
        case refusedByRun
        /// The run finished.
        case ran
    }

    /// Loads, plans and runs `bytes` as a model; never throws.
    @discardableResult
    public static func step(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        var load = LoadOptions()
        load.memoryLimitBytes = memoryLimitBytes
        let model: Model
        do {
            model = try ModelLoader.load(serialized: bytes, baseDirectory: nil, options: load)
        } catch {
            return .refusedByLoader
        }
        var options = SessionOptions()
        options.memoryLimitBytes = memoryLimitBytes
        options.maxLoopIterations = maxLoopIterations
        options.threads = 1
        let session: Session
        do {
            session = try Session(model: model, options: options)
        } catch {
            return .refusedByPlanner
        }
        var feeds: [String: Tensor] = [:]
        for input in session.inputs {
            guard let tensor = synthesize(input, from: bytes) else { return .notRun }
            feeds[input.name] = tensor
        }
        do {
            _ = try session.run(feeds)
            return .ran
        } catch {
            return .refusedByRun
        }
    }

    /// Loads, plans and runs `data` as a model; never throws.
    @discardableResult
    public static func step(_ data: Data) -> Outcome {
        data.withUnsafeBytes { step($0) }
    }

    /// A tensor for `input` of its declared type and shape, or nil when the
    /// declaration is not a tensor or asks for too many elements.
    static func synthesize(_ input: ValueInfo, from bytes: UnsafeRawBufferPointer) -> Tensor? {
        guard case .tensor(let declaredType, let dims)? = input.type else { return nil }
        let elementType = declaredType ?? .float
        let shape = (dims ?? []).map { dim -> Int in
            if case .known(let size) = dim { return size }
            return 2
        }
        guard let count = try? Tensor.checkedCount(shape), count <= maxInputElements else { return nil }
        if elementType == .string {
            return try? Tensor(shape: shape, strings: Array(repeating: "", count: count))
        }
        guard let byteCount = elementType.byteCount(forElements: count) else { return nil }
        let buffer = TensorBuffer.zeroed(byteCount: byteCount)
        if let base = buffer.baseAddress, !bytes.isEmpty {
            for offset in 0..<byteCount {
                var byte = bytes[(offset &* 7919) % bytes.count]
                if elementType == .bool { byte &= 1 }
                base.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            }
        }
        return try? Tensor(elementType: elementType, shape: shape, buffer: buffer)
    }
}
