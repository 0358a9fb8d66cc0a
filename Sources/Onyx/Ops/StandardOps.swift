/// The one ordered list of operator families this build registers.
enum StandardOps {
    static func registerAll(into registry: inout OpRegistry) {
        ElementwiseBinaryOps.register(into: &registry)
        ControlFlowOps.register(into: &registry)
        ScanOps.register(into: &registry)
        SequenceOps.register(into: &registry)
        OptionalOps.register(into: &registry)
        StringOps.register(into: &registry)
    }
}
