import ArgumentParser
import Foundation
import Onyx

/// `onyx bench`: latency, throughput and peak memory of a model.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a model's latency, throughput and peak memory.",
        discussion: """
            Inputs come from files (positional in graph-input order, or --input NAME=FILE) \
            or, for inputs not given, are random with a fixed seed: floats uniform in \
            [-1, 1), integers in --int-range, bools coin flips. Symbolic dimensions need \
            --shape (per input, image=1x3x224x224, or per symbol, batch=1). Random integer \
            inputs that index a constant table through Gather stay below its size. The model runs \
            --warmup times untimed, then --iterations times, or for --duration seconds \
            (default 5 s). Prints min, mean, p50, p90, p99 and max latency, throughput, load \
            and plan time, peak resident memory (VmHWM, loading included) and the most tensor \
            memory one run held; --json prints \
            one object instead. --profile adds a per-op-type time table over the measured \
            runs (nodes inside If/Loop/Scan bodies count toward their control-flow node); \
            --profile-json writes every node's span in Chrome trace format.
            """
    )

    @Argument(help: "The .onnx model file.") var model: String
    @Argument(help: "Input files (.pb or .npy) in graph-input order.") var inputFiles: [String] = []
    @Option(name: .customLong("input"), help: "An input by name, NAME=FILE (repeatable).") var namedInputs: [String] = []
    @Option(help: "Threads per run, for the kernels and for independent nodes (default: one per active core).") var threads: Int?
    @Option(help: "Untimed runs before measuring.") var warmup: Int = 2
    @Option(help: "Measured runs (default: as many as fit in --duration).") var iterations: Int?
    @Option(help: "Seconds to measure for (default 5, at least one run).") var duration: Double?
    @Option(name: .customLong("shape"), help: "Shape of an input or value of a symbolic dimension, NAME=1x3x224x224 or SYMBOL=N (repeatable).")
    var shapes: [String] = []
    @Option(name: .customLong("int-range"), help: "Range LO,HI (HI excluded) of random integer inputs, or NAME=LO,HI for one input (repeatable; default 0,100).")
    var intRanges: [String] = []
    @Option(help: "Seed of the random inputs.") var seed: UInt64 = 0
    @Flag(help: "Do not run the graph optimizer.") var noOptimize = false
    @Flag(help: "Run the nodes one after another (no independent nodes at the same time).") var sequential = false
    @Flag(help: "Take every tensor buffer from the shared block cache instead of a per-run arena.") var noArena = false
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Flag(help: "Time every node and print a per-op-type table.") var profile = false
    @Option(name: .customLong("profile-json"), help: "Write every node's span to FILE in Chrome trace format (implies profiling).")
    var profileJSON: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if let duration, !(duration > 0 && duration.isFinite) { throw ValidationError("--duration must be positive") }
        if iterations != nil && duration != nil { throw ValidationError("give --iterations or --duration, not both") }
        _ = try parsedIntRanges()
        for item in namedInputs where !item.contains("=") {
            throw ValidationError("--input expects NAME=FILE, got \"\(item)\"")
        }
    }

    /// The default range and the per-input ones.
    func parsedIntRanges() throws -> (all: (Int64, Int64), byInput: [String: (Int64, Int64)]) {
        var all: (Int64, Int64) = (0, 100)
        var byInput: [String: (Int64, Int64)] = [:]
        for item in intRanges {
            let named = item.split(separator: "=", maxSplits: 1).map(String.init)
            let parts = (named.last ?? "").split(separator: ",").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let low = parts[0], let high = parts[1], low < high else {
                throw ValidationError("--int-range expects LO,HI or NAME=LO,HI with LO < HI, got \"\(item)\"")
            }
            if named.count == 2 { byInput[named[0]] = (low, high) } else { all = (low, high) }
        }
        return (all, byInput)
    }

    func run() throws {
        let url = URL(fileURLWithPath: model)
        var options = SessionOptions()
        options.threads = threads
        options.optimize = !noOptimize
        options.interOpParallelism = !sequential
        options.runArena = !noArena
        let loadStart = Self.now()
        let loaded: Model
        do {
            loaded = try Model(contentsOf: url)
        } catch let error as OnyxError {
            throw error.inFile(model)
        }
        let planStart = Self.now()
        let session: Session
        do {
            session = try Session(model: loaded, options: options)
        } catch let error as OnyxError {
            throw error.inFile(model)
        }
        let planEnd = Self.now()
        let rssAfterLoad = ProcessMemory.residentBytes()
        let (feeds, inputs) = try makeFeeds(session)

        let progress = ProgressBar()
        for index in 0..<warmup {
            progress.update(fraction: Double(index) / Double(warmup), label: "warm-up \(index + 1)/\(warmup)", now: Self.now())
            _ = try session.run(feeds)
        }
        let profiler = profile || profileJSON != nil ? Profiler() : nil
        let limit = duration ?? (iterations == nil ? 5 : nil)
        var samples: [Double] = []
        let measureStart = Self.now()
        while true {
            let start = Self.now()
            if let iterations {
                progress.update(fraction: Double(samples.count) / Double(iterations), label: "run \(samples.count + 1)/\(iterations)", now: start)
            } else if let limit {
                let elapsed = Double(start &- measureStart) / 1e9
                progress.update(fraction: elapsed / limit, label: "run \(samples.count + 1), \(Int(elapsed)) of \(Int(limit.rounded(.up))) s", now: start)
            }
            let spanStart = profiler?.now() ?? 0
            _ = try session.run(feeds, profiler: profiler)
            profiler?.record(name: "run \(samples.count)", category: Self.runCategory, since: spanStart)
            let end = Self.now()
            samples.append(Double(end &- start) / 1e6)
            if let iterations, samples.count >= iterations { break }
            if let limit, Double(end &- measureStart) / 1e9 >= limit { break }
        }
        progress.finish()
        let total = samples.reduce(0, +)
        var report = BenchReport(
            model: model, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, optimize: !noOptimize,
            warmup: warmup, iterations: samples.count, inputs: inputs,
            loadMs: Double(planStart &- loadStart) / 1e6, planMs: Double(planEnd &- planStart) / 1e6,
            latencyMs: BenchReport.latency(samples), throughputPerS: total > 0 ? Double(samples.count) * 1000 / total : 0,
            totalS: total / 1000, rssAfterLoadMb: rssAfterLoad.map { Double($0) / 1_048_576 },
            peakRssMb: ProcessMemory.highWaterMarkBytes().map { Double($0) / 1_048_576 },
            peakTensorMb: Double(session.peakTensorBytes) / 1_048_576, profile: nil)
        if let profiler {
            report.profile = BenchReport.profileRows(profiler, wallNanoseconds: total * 1e6, excluding: [Self.runCategory])
            if let profileJSON {
                do {
                    try profiler.chromeTrace().write(to: URL(fileURLWithPath: profileJSON))
                } catch {
                    throw OnyxError(.io, "cannot write \(profileJSON): \(error.localizedDescription)")
                }
            }
        }
        let output = try json ? report.json() + "\n" : report.text()
        print(output, terminator: "")
    }

    /// The category of the whole-run spans in the trace.
    static let runCategory = "run"

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Feeds from files, then seeded random tensors for the inputs not given.
    private func makeFeeds(_ session: Session) throws -> ([String: Tensor], [BenchReport.Input]) {
        guard inputFiles.count <= session.inputs.count else {
            throw OnyxError(.unexpectedInput, "\(inputFiles.count) input files given, the model has \(session.inputs.count) inputs")
        }
        var feeds: [String: Tensor] = [:]
        var sources: [String: String] = [:]
        for (index, file) in inputFiles.enumerated() {
            feeds[session.inputs[index].name] = try TensorFiles.read(contentsOf: URL(fileURLWithPath: file)).tensor
            sources[session.inputs[index].name] = file
        }
        for item in namedInputs {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            feeds[parts[0]] = try TensorFiles.read(contentsOf: URL(fileURLWithPath: parts[1])).tensor
            sources[parts[0]] = parts[1]
        }
        var random = try BenchInputs(
            shapeOptions: shapes, inputs: session.inputs, intRange: try parsedIntRanges().all, seed: seed)
        random.indexBounds = BenchInputs.indexBounds(in: session.model.graph)
        random.intRanges = try parsedIntRanges().byInput
        for name in random.intRanges.keys where !session.inputs.contains(where: { $0.name == name }) {
            throw OnyxError(.unexpectedInput, "--int-range \(name)=…: the model has no input \"\(name)\"", value: name)
        }
        var inputs: [BenchReport.Input] = []
        for (index, input) in session.inputs.enumerated() {
            if feeds[input.name] == nil {
                feeds[input.name] = try random.tensor(for: input, index: index)
            }
            guard let tensor = feeds[input.name] else { continue }
            inputs.append(BenchReport.Input(
                name: input.name, type: tensor.elementType.description, shape: tensor.shape,
                source: sources[input.name] ?? randomSource(tensor, random.integerRange(of: input.name), index)))
        }
        return (feeds, inputs)
    }

    private func randomSource(_ tensor: Tensor, _ range: (lower: Int64, upper: Int64), _ index: Int) -> String {
        let values = tensor.elementType.isInteger ? " in [\(range.lower), \(range.upper))" : ""
        return "random\(values), seed \(seed &+ UInt64(index))"
    }
}
