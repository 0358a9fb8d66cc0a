/// Builds a kernel for one node; reads and validates its attributes.
typealias OpBuilder = @Sendable (OpContext) throws -> any Kernel

/// Maps (domain, op type, opset) to kernel builders.
///
/// Each operator registers one builder per version where its semantics
/// changed (`since`); the model's opset import for the node's domain picks
/// the newest builder whose `since` is not above it. Families register
/// themselves from `StandardOps.registerAll`.
struct OpRegistry: Sendable {
    struct Key: Hashable, Sendable {
        var domain: String
        var opType: String
    }

    struct Entry: Sendable {
        var since: Int
        var build: OpBuilder
    }

    private(set) var table: [Key: [Entry]] = [:]

    /// Registers `build` for `opType` from opset `since` on (until a later registration).
    mutating func register(_ opType: String, domain: String = "", since: Int = 1, _ build: @escaping OpBuilder) {
        let key = Key(domain: domain, opType: opType)
        table[key, default: []].append(Entry(since: since, build: build))
        table[key]?.sort { $0.since < $1.since }
    }

    /// Registers the same builder for several `since` versions.
    mutating func register(_ opType: String, domain: String = "", versions: [Int], _ build: @escaping OpBuilder) {
        for since in versions { register(opType, domain: domain, since: since, build) }
    }

    /// The builder for `opType` at `opset`, if any.
    func builder(domain: String, opType: String, opset: Int) -> OpBuilder? {
        let normalized = domain == "ai.onnx" ? "" : domain
        guard let entries = table[Key(domain: normalized, opType: opType)] else { return nil }
        return entries.last { $0.since <= opset }?.build
    }

    /// The registry with every operator this build implements.
    static let standard: OpRegistry = {
        var registry = OpRegistry()
        StandardOps.registerAll(into: &registry)
        return registry
    }()
}
