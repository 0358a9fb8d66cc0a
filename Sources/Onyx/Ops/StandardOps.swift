/// The one ordered list of operator families this build registers.
enum StandardOps {
    static func registerAll(into registry: inout OpRegistry) {
        ElementwiseBinaryOps.register(into: &registry)
        ReduceOps.register(into: &registry)
        ArgReduceOps.register(into: &registry)
        CumulativeOps.register(into: &registry)
        SortOps.register(into: &registry)
        MatMulOps.register(into: &registry)
        LinearAlgebraOps.register(into: &registry)
        EinsumOps.register(into: &registry)
    }
}
