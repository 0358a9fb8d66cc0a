/// The one ordered list of operator families this build registers.
enum StandardOps {
    static func registerAll(into registry: inout OpRegistry) {
        ElementwiseBinaryOps.register(into: &registry)
        ResizeOps.register(into: &registry)
        GridSampleOps.register(into: &registry)
    }
}
