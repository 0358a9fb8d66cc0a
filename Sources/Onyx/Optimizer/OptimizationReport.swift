/// What the optimizer did: per pass, the rewrites by kind and the
/// candidates still declined, plus a log of every rewrite in order.
public struct OptimizationReport: Sendable, Encodable {
    /// One kind of rewrite and how many times it happened.
    public struct Action: Sendable, Equatable, Encodable {
        public var summary: String
        public var count: Int
    }

    /// What one pass did.
    public struct PassSummary: Sendable, Encodable {
        public var pass: String
        /// False when the pass was disabled.
        public var enabled: Bool
        /// Rewrites by kind, in the order first seen.
        public var actions: [Action] = []
        /// Candidates the pass refused and that were not rewritten later.
        public var declines: [Decline] = []

        /// Total changes (sum of the actions' counts).
        public var changes: Int { actions.reduce(0) { $0 + $1.count } }

        /// One line, e.g. `fold-batchnorm: 53 BatchNormalization folded into Conv, 0 declined`.
        public var line: String {
            guard enabled else { return "\(pass): disabled" }
            let done = actions.isEmpty ? ["no change"] : actions.map { "\($0.count) \($0.summary)" }
            return "\(pass): " + (done + ["\(declines.count) declined"]).joined(separator: ", ")
        }

        mutating func record(_ rewrite: Rewrite) {
            if let index = actions.firstIndex(where: { $0.summary == rewrite.summary }) {
                actions[index].count += rewrite.count
            } else {
                actions.append(Action(summary: rewrite.summary, count: rewrite.count))
            }
        }

        private enum CodingKeys: String, CodingKey { case pass, enabled, actions, declines, changes }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(pass, forKey: .pass)
            try container.encode(enabled, forKey: .enabled)
            try container.encode(actions, forKey: .actions)
            try container.encode(declines, forKey: .declines)
            try container.encode(changes, forKey: .changes)
        }
    }

    /// One entry per pass of the pipeline, in pipeline order.
    public var passes: [PassSummary]
    /// Every rewrite in the order applied: `#N pass: summary (detail)`.
    public var log: [String] = []
    /// Rewrites applied in all.
    public var rewrites: Int = 0
    /// True when `stopAfter` ended the run before a fixed point.
    public var stoppedEarly = false
    /// Fused `ai.onyx` nodes written back in standard ops at the end
    /// (``Optimizer/allowCustomOps`` false).
    public var loweredCustomOps = 0
    /// Node counts (with subgraphs) before and after.
    public var nodesBefore = 0
    public var nodesAfter = 0

    /// The summary of pass `name`.
    public func pass(_ name: String) -> PassSummary? { passes.first { $0.pass == name } }

    /// The report as text: a line per pass, then each decline indented.
    public func text(showDeclines: Bool = true) -> String {
        var lines: [String] = []
        for summary in passes {
            lines.append(summary.line)
            guard showDeclines else { continue }
            for decline in summary.declines {
                lines.append("  declined \(decline.opType) \"\(decline.candidate)\": \(decline.reason)")
            }
        }
        if loweredCustomOps > 0 {
            lines.append("\(loweredCustomOps) fused ai.onyx nodes written back in standard ops")
        }
        if stoppedEarly { lines.append("stopped after \(rewrites) rewrites (--stop-after)") }
        return lines.joined(separator: "\n")
    }
}
