/// The standard optimizer passes, in the order they run.
///
/// The order matters: cleanups first, so that folds see producers with a
/// single reader and constants as initializers; then the folds; the
/// BatchNormalization → Mul/Add rewrite runs after `fold-batchnorm` so it
/// only sees the BatchNormalizations that could not fold; the normalization
/// fusions follow the folds, LayerNorm before SkipLayerNorm (which absorbs
/// the Add in front of a LayerNorm, fused or not). The driver repeats
/// the whole list until no pass changes anything (``Optimizer``).
public enum PassPipeline {
    /// Every standard pass, in order.
    public static let standard: [any GraphPass] = [
        EliminateIdentityPass(),
        DeadCodePass(),
        ConstantFoldingPass(),
        FoldBatchNormPass(),
        FoldChannelArithmeticPass(),
        FuseLayerNormPass(),
        FuseGroupNormPass(),
        FuseSkipLayerNormPass(),
        BatchNormAffinePass(),
    ]

    /// The names of the standard passes, in order.
    public static var names: [String] { standard.map(\.name) }
}
