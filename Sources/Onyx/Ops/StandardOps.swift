/// The one ordered list of operator families this build registers.
enum StandardOps {
    static func registerAll(into registry: inout OpRegistry) {
        ElementwiseBinaryOps.register(into: &registry)
        ResizeOps.register(into: &registry)
        GridSampleOps.register(into: &registry)
        AffineGridOps.register(into: &registry)
        Col2ImOps.register(into: &registry)
        CenterCropPadOps.register(into: &registry)
    }
}
