/// The one ordered list of operator families this build registers.
enum StandardOps {
    static func registerAll(into registry: inout OpRegistry) {
        ElementwiseBinaryOps.register(into: &registry)
        ElementwiseUnaryOps.register(into: &registry)
        ElementwiseMoreBinaryOps.register(into: &registry)
        VariadicOps.register(into: &registry)
    }
}
