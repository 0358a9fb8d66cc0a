/// Optional (15, 28), OptionalHasElement and OptionalGetElement (15, 18, 28).
///
/// An optional holding a value is represented by the value itself (a
/// tensor or a sequence); an empty optional is `Value.none`. Hence:
/// - `Optional(x)` returns x; `Optional()` (no input) returns `.none` and
///   requires the `type` attribute. When both are given, a tensor's element
///   type must agree with `type`.
/// - `OptionalHasElement` is false for `.none` or an omitted input (opset 18
///   made the input optional and accepted plain tensors and sequences).
/// - `OptionalGetElement` returns the value; an empty optional is an error.
enum OptionalOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Optional", versions: [15, 28]) { context in
            let declared: ValueType??
            switch context.attributeValue("type") {
            case nil: declared = nil
            case .type(let type)?: declared = .some(type)
            case let other?: throw OnyxError.invalidModel("attribute \"type\" must be TYPE_PROTO, got \(other.kindName)")
            }
            let hasInput = context.hasInput(0)
            guard hasInput || declared != nil else {
                throw OnyxError.invalidModel("Optional without an input needs the \"type\" attribute")
            }
            let expected = declared.flatMap { $0 }.flatMap(elementType(of:))
            return ClosureKernel { inputs, _ in
                guard hasInput, let value = inputs.first ?? nil else { return [Value.none] }
                if let expected, let actual = value.carriedElementType, actual != expected {
                    throw OnyxError.wrongElementType("input is \(actual) but attribute \"type\" says \(expected)")
                }
                return [value]
            }
        }
        registry.register("OptionalHasElement", versions: [15, 18, 28]) { context in
            let hasInput = context.hasInput(0)
            return ClosureKernel { inputs, _ in
                var present = false
                if hasInput, let value = inputs.first ?? nil, value != Value.none { present = true }
                return [.tensor(Tensor(scalar: present))]
            }
        }
        registry.register("OptionalGetElement", versions: [15, 18, 28]) { _ in ClosureKernel { inputs, _ in
            guard let value = inputs.first ?? nil, value != Value.none else {
                throw OnyxError.invalidModel("OptionalGetElement: the optional input is empty")
            }
            return [value]
        } }
    }

    /// The element type an optional's type attribute names (through
    /// `optional(...)` and `seq(...)`).
    static func elementType(of type: ValueType) -> ElementType? {
        switch type {
        case .tensor(let element, _), .sparseTensor(let element, _): return element
        case .sequence(let inner), .optional(let inner): return inner.flatMap(elementType(of:))
        case .map: return nil
        }
    }
}
