/// A value flowing through a graph at run time: a tensor, a sequence of
/// tensors, or an empty optional.
public enum Value: Sendable, Equatable {
    case tensor(Tensor)
    /// A sequence; `elementType` is kept so empty sequences stay typed.
    case sequence([Tensor], elementType: ElementType?)
    /// An optional without a value (`Optional` with no input).
    case none

    /// The tensor, or an error naming what was found instead.
    public func asTensor() throws -> Tensor {
        switch self {
        case .tensor(let tensor): return tensor
        case .sequence: throw OnyxError.wrongElementType("expected a tensor, got a sequence")
        case .none: throw OnyxError.wrongElementType("expected a tensor, got an empty optional")
        }
    }

    /// The tensors of a sequence, or an error.
    public func asSequence() throws -> [Tensor] {
        if case .sequence(let items, _) = self { return items }
        throw OnyxError.wrongElementType("expected a sequence")
    }
}
