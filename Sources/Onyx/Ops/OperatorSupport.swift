/// Answers which operators this build can execute.
///
/// This build has no executor yet, so no operator is executable: `onyx info`
/// lists every operator of a model as not executable. The op registry of the
/// executor replaces this table.
public enum OperatorSupport {
    /// Whether `domain.opType` at `opset` has a kernel in this build.
    public static func canExecute(domain: String, opType: String, opset: Int) -> Bool {
        false
    }
}
