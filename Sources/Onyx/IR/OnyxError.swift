/// The one error type Onyx throws.
///
/// `kind` is what a caller switches on; `message` says what is wrong, and
/// the context fields say where: the model file, the node (name, op type,
/// opset) and the value. `description` joins them into one line, e.g.
/// `model.onnx: node "conv1" (Conv, opset 13): input "W": rank 3, expected 4`.
public struct OnyxError: Error, Sendable, CustomStringConvertible {
    /// The category of an error.
    public enum Kind: String, Sendable {
        /// The model file or graph is malformed or inconsistent.
        case invalidModel
        /// An operator (or an operator version or attribute value) this build cannot run.
        case unsupportedOperator
        /// Operand shapes do not fit together, or an input's shape contradicts the model.
        case shapeMismatch
        /// A required input was not fed.
        case missingInput
        /// A fed input is not an input of the model.
        case unexpectedInput
        /// A tensor has a different element type than required.
        case wrongElementType
        /// Work would exceed a configured resource limit (memory, iterations, depth).
        case resourceLimit
        /// Reading or writing a file failed.
        case io
    }

    /// Identifies a node in messages.
    public struct NodeContext: Sendable, Equatable {
        public var name: String
        public var opType: String
        public var domain: String
        public var opset: Int?

        public init(name: String, opType: String, domain: String = "", opset: Int? = nil) {
            self.name = name
            self.opType = opType
            self.domain = domain
            self.opset = opset
        }
    }

    /// The category, for callers to switch on.
    public var kind: Kind
    /// What is wrong, without the context fields.
    public var message: String
    /// The model file, when the error arose while loading or running one.
    public var file: String?
    /// The node the error is about.
    public var node: NodeContext?
    /// The value (tensor name) the error is about.
    public var value: String?

    public init(_ kind: Kind, _ message: String, file: String? = nil, node: NodeContext? = nil, value: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.node = node
        self.value = value
    }

    public static func invalidModel(_ message: String, value: String? = nil) -> OnyxError {
        OnyxError(.invalidModel, message, value: value)
    }
    public static func unsupportedOperator(_ message: String) -> OnyxError { OnyxError(.unsupportedOperator, message) }
    public static func shapeMismatch(_ message: String) -> OnyxError { OnyxError(.shapeMismatch, message) }
    public static func wrongElementType(_ message: String) -> OnyxError { OnyxError(.wrongElementType, message) }
    public static func resourceLimit(_ message: String) -> OnyxError { OnyxError(.resourceLimit, message) }
    public static func io(_ message: String) -> OnyxError { OnyxError(.io, message) }

    /// This error with `file` set, unless it already names one.
    public func inFile(_ path: String) -> OnyxError {
        var copy = self
        if copy.file == nil { copy.file = path }
        return copy
    }

    /// This error with `node` set, unless it already names one.
    public func atNode(_ context: NodeContext) -> OnyxError {
        var copy = self
        if copy.node == nil { copy.node = context }
        return copy
    }

    /// This error with `value` set, unless it already names one.
    public func forValue(_ name: String) -> OnyxError {
        var copy = self
        if copy.value == nil { copy.value = name }
        return copy
    }

    /// The error on one line: file, node, value and message, joined by ": ".
    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let node {
            var what = node.domain.isEmpty || node.domain == "ai.onnx" ? node.opType : "\(node.domain).\(node.opType)"
            if let opset = node.opset { what += ", opset \(opset)" }
            parts.append("node \"\(node.name)\" (\(what))")
        }
        if let value { parts.append("value \"\(value)\"") }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}
