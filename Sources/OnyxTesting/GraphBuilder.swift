import Onyx

/// Builds a small `Model` in a few lines, for optimizer and kernel tests.
///
/// ```swift
/// var g = GraphBuilder(opset: 15)
/// g.input("x", [1, 3, 8, 8])
/// g.random("w", [4, 3, 3, 3], seed: 1)
/// g.random("var", [4], seed: 2, in: 0.5...1.5)
/// g.node("Conv", ["x", "w"], ["c"], ["pads": [1, 1, 1, 1]])
/// g.node("BatchNormalization", ["c", "s", "b", "m", "var"], ["y"], ["epsilon": 1e-3])
/// g.output("y")
/// let model = try g.model()
/// ```
///
/// Methods that take values (``initializer(_:_:shape:as:)``) may fail to
/// encode them; the builder keeps the first such error and ``model()``
/// throws it, so building needs no `try` on every line. ``model()`` also
/// validates the graph as loading a file would (everything defined, no
/// cycle, nodes sorted).
public struct GraphBuilder {
    /// The default-domain opset the model imports.
    public var opset: Int
    /// Further opset imports (custom domains).
    public var extraImports: [OpsetImport] = []
    private var graph: Graph
    private var firstError: (any Error)?

    public init(opset: Int = 21, name: String = "graph") {
        self.opset = opset
        graph = Graph(name: name)
    }

    /// Adds a graph input of `type` with fixed `shape`; returns its name.
    @discardableResult
    public mutating func input(_ name: String, _ shape: [Int], _ type: ElementType = .float) -> String {
        input(name, dims: shape.map { .known($0) }, type)
    }

    /// Adds a graph input whose dims may be symbolic or unknown; returns its name.
    @discardableResult
    public mutating func input(_ name: String, dims: [Dim]?, _ type: ElementType = .float) -> String {
        graph.inputs.append(ValueInfo(name: name, type: .tensor(elementType: type, shape: dims)))
        return name
    }

    /// Adds an initializer; returns its name.
    @discardableResult
    public mutating func initializer(_ name: String, _ tensor: Tensor) -> String {
        graph.constants[name] = tensor
        return name
    }

    /// Adds an initializer of `type` holding `values` (row-major) with
    /// `shape` (default: 1-D); returns its name.
    @discardableResult
    public mutating func initializer(_ name: String, _ values: [Double], shape: [Int]? = nil, as type: ElementType = .float) -> String {
        do {
            graph.constants[name] = try Tensor.fromDoubles(values, shape: shape ?? [values.count], as: type)
        } catch {
            firstError = firstError ?? error
        }
        return name
    }

    /// Adds an initializer of `type` with values drawn uniformly from
    /// `range` by a generator seeded with `seed`; returns its name.
    @discardableResult
    public mutating func random(
        _ name: String, _ shape: [Int], seed: UInt64, in range: ClosedRange<Double> = -1...1, as type: ElementType = .float
    ) -> String {
        var generator = SeededGenerator(seed: seed)
        let count = (try? Tensor.checkedCount(shape)) ?? 0
        let values = (0..<count).map { _ in Double.random(in: range, using: &generator) }
        return initializer(name, values, shape: shape, as: type)
    }

    /// Makes existing initializer `name` also a graph input, so that a
    /// caller may override it (and passes must not treat it as constant).
    public mutating func overridable(_ name: String) {
        guard let tensor = graph.constants[name] else { return }
        graph.inputs.append(ValueInfo(
            name: name, type: .tensor(elementType: tensor.elementType, shape: tensor.shape.map { .known($0) })))
    }

    /// Adds a node; returns its first output. The node is named
    /// `opType_N` unless `name` is given.
    @discardableResult
    public mutating func node(
        _ opType: String, _ inputs: [String], _ outputs: [String],
        _ attributes: KeyValuePairs<String, AttributeLiteral> = [:], name: String? = nil, domain: String = ""
    ) -> String {
        let nodeName = name ?? "\(opType)_\(graph.nodes.count)"
        graph.nodes.append(Node(
            name: nodeName, opType: opType, domain: domain, inputs: inputs, outputs: outputs,
            attributes: attributes.map { Attribute(name: $0.key, value: $0.value.value) }))
        return outputs.first ?? ""
    }

    /// Declares graph outputs, with unknown type.
    public mutating func output(_ names: String...) {
        for name in names { graph.outputs.append(ValueInfo(name: name, type: nil)) }
    }

    /// Declares a graph output of `type` (shape unknown unless given).
    public mutating func output(_ name: String, _ type: ElementType, shape: [Int]? = nil) {
        graph.outputs.append(ValueInfo(name: name, type: .tensor(elementType: type, shape: shape?.map { .known($0) })))
    }

    /// The graph built so far, unvalidated.
    public var currentGraph: Graph { graph }

    /// The model: the graph with its opset imports, validated.
    public func model() throws -> Model {
        if let firstError { throw firstError }
        let model = Model(opsetImports: [OpsetImport(domain: "", version: opset)] + extraImports, graph: graph)
        return try Model(validating: model)
    }
}

/// An attribute value written as a literal: `2`, `1e-3`, `"NOTSET"`,
/// `[1, 1]`, `[0.5, 2.0]`, `["a", "b"]`, `true`; `.int(n)`, `.ints(list)`,
/// `.float(x)`, `.floats(list)`, `.string(s)` for values held in variables;
/// ``tensor(_:)``, ``graph(_:)`` or ``init(_:)`` for the rest.
public struct AttributeLiteral: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByArrayLiteral, ExpressibleByBooleanLiteral
{
    public let value: AttributeValue

    public init(_ value: AttributeValue) { self.value = value }
    public init(integerLiteral value: Int) { self.value = .int(Int64(value)) }
    public init(floatLiteral value: Double) { self.value = .float(Float(value)) }
    public init(stringLiteral value: String) { self.value = .string(Array(value.utf8)) }
    public init(booleanLiteral value: Bool) { self.value = .int(value ? 1 : 0) }

    /// INTS when every element is an integer, FLOATS when some are
    /// floats, STRINGS for strings.
    public init(arrayLiteral elements: AttributeLiteral...) {
        var ints: [Int64] = []
        var floats: [Float] = []
        var strings: [[UInt8]] = []
        for element in elements {
            switch element.value {
            case .int(let i): ints.append(i); floats.append(Float(i))
            case .float(let f): floats.append(f)
            case .string(let s): strings.append(s)
            default: break
            }
        }
        if !strings.isEmpty {
            value = .strings(strings)
        } else if ints.count == elements.count {
            value = .ints(ints)
        } else {
            value = .floats(floats)
        }
    }

    public static func int(_ value: Int) -> AttributeLiteral { AttributeLiteral(.int(Int64(value))) }
    public static func float(_ value: Double) -> AttributeLiteral { AttributeLiteral(.float(Float(value))) }
    public static func ints(_ values: [Int]) -> AttributeLiteral { AttributeLiteral(.ints(values.map { Int64($0) })) }
    public static func floats(_ values: [Double]) -> AttributeLiteral { AttributeLiteral(.floats(values.map { Float($0) })) }
    public static func string(_ value: String) -> AttributeLiteral { AttributeLiteral(.string(Array(value.utf8))) }
    public static func tensor(_ tensor: Tensor) -> AttributeLiteral { AttributeLiteral(.tensor(tensor)) }
    public static func graph(_ graph: Graph) -> AttributeLiteral { AttributeLiteral(.graph(graph)) }
}

/// A deterministic random generator (SplitMix64) for seeded test data.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
