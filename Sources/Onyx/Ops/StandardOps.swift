/// The one ordered list of operator families this build registers.
enum StandardOps {
    static func registerAll(into registry: inout OpRegistry) {
        ElementwiseBinaryOps.register(into: &registry)
        CastOps.register(into: &registry)
        ConstantOps.register(into: &registry)
        RandomOps.register(into: &registry)
    }
}
