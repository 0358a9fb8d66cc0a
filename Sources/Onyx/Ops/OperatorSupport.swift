/// Answers which operators this build can execute.
public enum OperatorSupport {
    /// Whether `domain.opType` at `opset` has a kernel in this build.
    public static func canExecute(domain: String, opType: String, opset: Int) -> Bool {
        OpRegistry.standard.builder(domain: domain, opType: opType, opset: opset) != nil
    }
}
