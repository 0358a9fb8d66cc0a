/// The standard optimizer passes, in the order they run.
///
/// The order matters: cleanups first, so that folds see producers with a
/// single reader and constants as initializers; then the folds into
/// producers; the normalization fusions (LayerNorm before SkipLayerNorm,
/// which absorbs the Add in front of a LayerNorm, fused or not); the
/// BatchNormalization rewrites run after `fold-batchnorm` so they only see
/// the BatchNormalizations that could not fold (the off-by-default Mul + Add
/// one first, so that asking for it wins); then the forward fold of what is
/// left into the Conv/Gemm/MatMul reading it; the Conv/Gemm/MatMul fusions
/// come last, so a fused node never blocks a fold (the residual Add before
/// the activation, which then applies after the sum). The driver repeats the
/// whole list until no pass changes anything (``Optimizer``).
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
        ChannelAffinePass(),
        AffineForwardFoldPass(),
        FuseMatMulAddPass(),
        FuseConvAddPass(),
        FuseActivationPass(),
    ]

    /// The names of the standard passes, in order.
    public static var names: [String] { standard.map(\.name) }
}
