/// The one ordered list of operator families this build registers.
enum StandardOps {
    static func registerAll(into registry: inout OpRegistry) {
        ElementwiseBinaryOps.register(into: &registry)
        ActivationOps.register(into: &registry)
        SoftmaxOps.register(into: &registry)
        ConvOps.register(into: &registry)
        PoolOps.register(into: &registry)
        BatchNormOps.register(into: &registry)
        RecurrentOps.register(into: &registry)
    }
}
