import Foundation
import ONNXProto

/// Limits and switches for loading a model.
public struct LoadOptions: Sendable {
    /// Deepest protobuf message nesting accepted (Python's parser allows 100).
    public var maxMessageDepth: Int = 100
    /// Deepest subgraph nesting (If/Loop/Scan bodies) accepted.
    public var maxSubgraphDepth: Int = 64
    /// Bytes the loader may allocate beyond the file's own payloads
    /// (densified sparse initializers).
    public var memoryLimitBytes: Int = ModelLoader.defaultMemoryLimit

    public init() {}
}

/// What loading a file produced, with facts `onyx info` reports.
public struct LoadedModel: Sendable {
    public var model: Model
    /// External data files the model references, relative to its folder.
    public var externalDataFiles: [String]
    /// Wall time of the load in seconds.
    public var seconds: Double
    /// Bytes resident in the process right after the load, where the platform tells.
    public var residentBytesAfterLoad: Int?
}

/// Loads `.onnx` files into the IR.
///
/// The file is memory-mapped and its wire format scanned without recursion
/// (bounding message nesting, since libprotobuf-c recurses without limit)
/// before protobuf-c unpacks it; the IR then takes over protobuf-c's copies
/// of `raw_data`, and the graph is validated and sorted topologically.
public enum ModelLoader {
    /// Half of physical memory.
    public static let defaultMemoryLimit: Int = Int(clamping: ProcessInfo.processInfo.physicalMemory / 2)

    /// Loads the model at `url`; errors name the file.
    public static func load(contentsOf url: URL, options: LoadOptions = .init()) throws -> LoadedModel {
        let start = DispatchTime.now().uptimeNanoseconds
        let path = url.path
        do {
            let file = try MappedFile(path: path)
            guard file.size > 0 else { throw OnyxError.invalidModel("the file is empty") }
            let resolver = ExternalDataResolver(baseDirectory: url.deletingLastPathComponent())
            let model = try decode(file.bytes, resolver: resolver, options: options, isFileMapping: true)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return LoadedModel(
                model: model, externalDataFiles: resolver.files, seconds: seconds,
                residentBytesAfterLoad: ProcessMemory.residentBytes())
        } catch let error as OnyxError {
            throw error.inFile(path)
        }
    }

    /// Decodes a serialized ModelProto held in memory. External data is
    /// resolved against `baseDirectory` when given, refused otherwise.
    public static func load(serialized bytes: UnsafeRawBufferPointer, baseDirectory: URL? = nil, options: LoadOptions = .init()) throws -> Model {
        guard bytes.count > 0 else { throw OnyxError.invalidModel("the model bytes are empty") }
        return try decode(bytes, resolver: ExternalDataResolver(baseDirectory: baseDirectory), options: options)
    }

    /// Scans, unpacks, converts and validates. With `isFileMapping`, the
    /// pages of large `raw_data` payloads are handed back to the kernel as
    /// soon as protobuf-c has copied them (never for heap memory, which
    /// `MADV_DONTNEED` would zero).
    static func decode(
        _ bytes: UnsafeRawBufferPointer, resolver: ExternalDataResolver, options: LoadOptions, isFileMapping: Bool = false
    ) throws -> Model {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw OnyxError.invalidModel("the model bytes are empty")
        }
        var spans: UnsafeMutablePointer<OnyxSpan>?
        var spanCount = 0
        defer { free(spans) }
        let scan = isFileMapping
            ? onyx_wire_scan_spans(base, bytes.count, Int32(options.maxMessageDepth), 1 << 16, &spans, &spanCount)
            : onyx_wire_scan(base, bytes.count, Int32(options.maxMessageDepth))
        switch scan.status {
        case ONYX_WIRE_OK: break
        case ONYX_WIRE_TOO_DEEP:
            throw OnyxError.resourceLimit(
                "protobuf messages nest too deep (over \(options.maxMessageDepth) levels, at byte \(scan.offset))")
        default:
            let what = scan.what.map { String(cString: $0) } ?? "malformed"
            throw OnyxError.invalidModel("not a valid ONNX protobuf: \(what) at byte \(scan.offset) of \(bytes.count)")
        }
        let unpacked = isFileMapping
            ? onyx_unpack_model_releasing(base, bytes.count, spans, spanCount)
            : onnx__model_proto__unpack(nil, bytes.count, base)
        guard let proto = unpacked else {
            throw OnyxError.invalidModel("not a valid ONNX protobuf: protobuf-c could not decode it as a ModelProto")
        }
        defer { onnx__model_proto__free_unpacked(proto, nil) }
        let decoder = ProtoDecoder(
            external: resolver, memoryLimit: options.memoryLimitBytes, maxGraphDepth: options.maxSubgraphDepth)
        var model = try decoder.decodeModel(proto)
        do {
            try validate(&model, options: options)
        } catch var error as OnyxError {
            // Name the opset the node's domain is imported at.
            if let node = error.node, node.opset == nil {
                error.node?.opset = model.opsetVersion(for: node.domain)
            }
            throw error
        }
        return model
    }

    /// Model-level checks: opset imports cover every node's domain, graphs and
    /// function bodies are well formed.
    static func validate(_ model: inout Model, options: LoadOptions) throws {
        if model.opsetImports.isEmpty {
            guard model.irVersion < 3 else { throw OnyxError.invalidModel("model imports no opset") }
            model.opsetImports = [OpsetImport(domain: "", version: 1)]
        }
        var imported = Set<String>()
        for opset in model.opsetImports {
            let domain = opset.domain == "ai.onnx" ? "" : opset.domain
            guard imported.insert(domain).inserted else {
                throw OnyxError.invalidModel("opset domain \"\(opset.domain)\" is imported more than once")
            }
            guard opset.version >= 1 else {
                throw OnyxError.invalidModel("opset domain \"\(opset.domain)\" has version \(opset.version)")
            }
        }
        let functionDomains = Set(model.functions.map { $0.domain == "ai.onnx" ? "" : $0.domain })
        try model.graph.forEachNode { node, _ in
            let domain = node.normalizedDomain
            guard imported.contains(domain) || functionDomains.contains(domain) else {
                throw OnyxError.invalidModel("domain \"\(node.domain)\" is not imported by the model")
                    .atNode(GraphValidation.context(node))
            }
        }
        try GraphValidation.validate(&model.graph, maxDepth: options.maxSubgraphDepth)
        for index in model.functions.indices {
            var function = model.functions[index]
            var body = Graph(
                name: function.name, nodes: function.nodes,
                inputs: function.inputs.filter { !$0.isEmpty }.map { ValueInfo(name: $0, type: nil) },
                outputs: function.outputs.map { ValueInfo(name: $0, type: nil) })
            do {
                try GraphValidation.validate(&body, maxDepth: options.maxSubgraphDepth)
            } catch let error as OnyxError {
                var error = error
                error.message = "function \"\(function.name)\": " + error.message
                throw error
            }
            function.nodes = body.nodes
            model.functions[index] = function
        }
    }
}

extension Model {
    /// Loads and validates the `.onnx` file at `url`.
    public init(contentsOf url: URL, options: LoadOptions = .init()) throws {
        self = try ModelLoader.load(contentsOf: url, options: options).model
    }

    /// Checks a model built in memory as loading a file would (opset
    /// imports, single definitions, no cycle) and sorts its nodes.
    public init(validating model: Model, options: LoadOptions = .init()) throws {
        var copy = model
        try ModelLoader.validate(&copy, options: options)
        self = copy
    }
}
