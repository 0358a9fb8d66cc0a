enum ImageDecoderOps {
    static func register(into registry: inout OpRegistry) {}
}
