/// The one ordered list of operator families this build registers.
enum StandardOps {
    static func registerAll(into registry: inout OpRegistry) {
        ElementwiseBinaryOps.register(into: &registry)
        ActivationOps.register(into: &registry)
        SoftmaxOps.register(into: &registry)
        ConvOps.register(into: &registry)
        ConvTransposeOps.register(into: &registry)
        PoolOps.register(into: &registry)
        BatchNormOps.register(into: &registry)
        QuantizeOps.register(into: &registry)
        QuantizedConvOps.register(into: &registry)
        ElementwiseUnaryOps.register(into: &registry)
        ElementwiseMoreBinaryOps.register(into: &registry)
        VariadicOps.register(into: &registry)
        LayerNormOps.register(into: &registry)
        GroupNormOps.register(into: &registry)
        NormalizationMiscOps.register(into: &registry)
        LossOps.register(into: &registry)
        DetectionOps.register(into: &registry)
        SpectralOps.register(into: &registry)
        MiscOps.register(into: &registry)
    }
}
