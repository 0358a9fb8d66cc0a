/// The one ordered list of operator families this build registers.
enum StandardOps {
    static func registerAll(into registry: inout OpRegistry) {
        ElementwiseBinaryOps.register(into: &registry)
        ShapeOps.register(into: &registry)
        LayoutOps.register(into: &registry)
        ConcatSplitOps.register(into: &registry)
        SliceOps.register(into: &registry)
        IndexingOps.register(into: &registry)
        ScatterOps.register(into: &registry)
        PadOps.register(into: &registry)
    }
}
