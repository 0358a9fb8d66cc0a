/// Checks and statistics shared by the normalization families
/// (`LayerNormOps`, `GroupNormOps`, `NormalizationMiscOps`).
///
/// Statistics are always computed in Double with two passes (mean, then
/// the mean of squared deviations), never as E[x²] − E[x]², whatever the
/// input type and `stash_type`: at least as accurate as the spec's float32
/// stage one, and free of the cancellation that formula suffers when the
/// mean is large against the spread.
enum NormalizationSupport {
    /// The element types the normalization operators accept.
    static let floatTypes: Set<ElementType> = [.float, .double, .float16, .bfloat16]

    /// Fails unless `tensor` has one of the accepted floating-point types.
    static func requireFloat(_ tensor: Tensor, _ name: String) throws {
        guard floatTypes.contains(tensor.elementType) else {
            throw OnyxError.wrongElementType(
                "\(name) must be float, double, float16 or bfloat16, got \(tensor.elementType)")
        }
    }

    /// Fails unless `tensor` has the element type of `reference` (both bound to `T`).
    static func requireSameType(_ tensor: Tensor, _ name: String, as reference: Tensor) throws {
        guard tensor.elementType == reference.elementType else {
            throw OnyxError.wrongElementType(
                "\(name) must have the element type of X (\(reference.elementType)), got \(tensor.elementType)")
        }
    }

    /// The `stash_type` attribute (default 1, float) as an element type.
    /// Any of the accepted float types is allowed; it only selects the type
    /// of the optional statistics outputs, since stage one runs in Double.
    static func stashType(_ context: OpContext) throws -> ElementType {
        let raw = try context.int("stash_type", default: 1)
        guard let code = Int32(exactly: raw), let type = ElementType(rawValue: code), floatTypes.contains(type) else {
            throw OnyxError.unsupportedOperator("stash_type \(raw) is not a floating-point element type")
        }
        return type
    }

    /// Mean and population variance of `values[range]`, two passes in Double
    /// (NaN for an empty range, as ReduceMean over nothing).
    static func moments(_ values: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> (mean: Double, variance: Double) {
        let n = Double(range.count)
        var sum = 0.0
        for i in range { sum += values[i] }
        let mean = sum / n
        var squares = 0.0
        for i in range {
            let d = values[i] - mean
            squares += d * d
        }
        return (mean, squares / n)
    }

    /// True when `shape` is unidirectionally broadcastable to `target`.
    static func broadcastable(_ shape: [Int], to target: [Int]) -> Bool {
        guard shape.count <= target.count else { return false }
        let offset = target.count - shape.count
        return shape.enumerated().allSatisfy { $0.element == 1 || $0.element == target[offset + $0.offset] }
    }
}
