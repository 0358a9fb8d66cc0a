/// Einsum (opset 12, 28): Einstein summation over any number of operands,
/// following numpy's `einsum`.
///
/// The equation is `term,term,...[->output]` (spaces ignored); a term is
/// letters (a–z, A–Z) with at most one `...` standing for the operand's
/// remaining dimensions. Ellipsis dimensions align from the right across
/// operands and broadcast; a dimension of size 1 broadcasts against its
/// label's size anywhere. A label repeated within a term takes the
/// diagonal; labels absent from the output are summed. Without `->` the
/// output is the ellipsis dimensions followed by the labels that occur
/// once, in ASCII order (uppercase first). With an explicit output that
/// lacks `...`, operands must not have ellipsis dimensions.
///
/// Operands contract pairwise from the left, each step keeping only the
/// labels still needed. Floating-point types compute in Double and round
/// once; integers in Int64 with wrapping (exact modulo the type's width).
enum EinsumOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Einsum", versions: [12, 28]) { context in
            guard let equation = try context.string("equation") else {
                throw OnyxError.invalidModel("attribute \"equation\" is required")
            }
            let parsed = try EinsumEquation(equation)
            guard parsed.terms.count == context.inputCount else {
                throw OnyxError.invalidModel(
                    "equation \"\(equation)\" has \(parsed.terms.count) operands, the node \(context.inputCount)")
            }
            return ClosureKernel { inputs, _ in
                let operands = try (0..<parsed.terms.count).map { try inputs.tensor($0) }
                return [.tensor(try parsed.evaluate(operands))]
            }
        }
    }
}

/// A parsed einsum equation. Labels are numbered: letters by their ASCII
/// code, ellipsis dimensions from `ellipsisBase` on.
struct EinsumEquation: Sendable {
    /// One entry per operand: its labels in order, `nil` marking the ellipsis.
    let terms: [[Int?]]
    /// The explicit output (same encoding), or nil for implicit mode.
    let output: [Int?]?

    static let ellipsisBase = 128

    init(_ equation: String) throws {
        let text = Array(equation.unicodeScalars.filter { $0 != " " && $0 != "\t" && $0 != "\n" })
        var sides: [[[Int?]]] = [[[]]]
        var index = 0
        while index < text.count {
            let scalar = text[index]
            if scalar == "," {
                sides[sides.count - 1].append([])
            } else if scalar == "-" {
                guard index + 1 < text.count, text[index + 1] == ">", sides.count == 1 else {
                    throw OnyxError.invalidModel("malformed einsum equation \"\(equation)\"")
                }
                sides.append([[]])
                index += 1
            } else if scalar == "." {
                guard index + 2 < text.count, text[index + 1] == ".", text[index + 2] == "." else {
                    throw OnyxError.invalidModel("einsum equation \"\(equation)\" has a lone '.'")
                }
                let side = sides.count - 1
                let term = sides[side].count - 1
                guard !sides[side][term].contains(where: { $0 == nil }) else {
                    throw OnyxError.invalidModel("einsum term has more than one ellipsis in \"\(equation)\"")
                }
                sides[side][term].append(nil)
                index += 2
            } else if (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") {
                sides[sides.count - 1][sides[sides.count - 1].count - 1].append(Int(scalar.value))
            } else {
                throw OnyxError.invalidModel("einsum equation \"\(equation)\" has an invalid character '\(scalar)'")
            }
            index += 1
        }
        terms = sides[0]
        if sides.count == 2 {
            guard sides[1].count == 1 else { throw OnyxError.invalidModel("einsum output must be a single term") }
            let out = sides[1][0]
            let letters = out.compactMap { $0 }
            guard Set(letters).count == letters.count else {
                throw OnyxError.invalidModel("einsum output repeats a label in \"\(equation)\"")
            }
            let used = Set(terms.joined().compactMap { $0 })
            guard letters.allSatisfy(used.contains) else {
                throw OnyxError.invalidModel("einsum output has a label no operand has in \"\(equation)\"")
            }
            output = out
        } else {
            output = nil
        }
    }

    /// Evaluates the equation on `operands` (all of one element type).
    func evaluate(_ operands: [Tensor]) throws -> Tensor {
        guard let type = operands.first?.elementType else { throw OnyxError.invalidModel("Einsum needs an operand") }
        guard operands.allSatisfy({ $0.elementType == type }) else {
            throw OnyxError.wrongElementType("Einsum operands differ in element type")
        }
        var ellipsisRank = 0
        var labelled: [[Int]] = []
        for (term, operand) in zip(terms, operands) {
            let letters = term.filter { $0 != nil }.count
            let hasEllipsis = term.count != letters
            let extra = operand.shape.count - letters
            guard extra == 0 || (hasEllipsis && extra > 0) else {
                throw OnyxError.shapeMismatch("operand of shape \(operand.shape) does not match its einsum term")
            }
            ellipsisRank = max(ellipsisRank, extra)
            labelled.append(term.flatMap { $0.map { [$0] } ?? (0..<extra).map { -1 - (extra - 1 - $0) } })
        }
        let ellipsis = (0..<ellipsisRank).map { EinsumEquation.ellipsisBase + $0 }
        labelled = labelled.map { $0.map { $0 < 0 ? EinsumEquation.ellipsisBase + ellipsisRank + $0 : $0 } }
        var sizes: [Int: Int] = [:]
        for (labels, operand) in zip(labelled, operands) {
            for (label, dim) in zip(labels, operand.shape) {
                let current = sizes[label] ?? 1
                guard current == dim || current == 1 || dim == 1 else {
                    throw OnyxError.shapeMismatch("einsum label sizes \(current) and \(dim) differ")
                }
                sizes[label] = current == 1 ? dim : current
            }
        }
        let outputLabels: [Int]
        if let output {
            if !output.contains(where: { $0 == nil }) && ellipsisRank > 0 {
                throw OnyxError.invalidModel("einsum output needs '...' for the operands' ellipsis dimensions")
            }
            outputLabels = output.flatMap { $0.map { [$0] } ?? ellipsis }
        } else {
            var occurrences: [Int: Int] = [:]
            for label in terms.joined().compactMap({ $0 }) { occurrences[label, default: 0] += 1 }
            outputLabels = ellipsis + occurrences.filter { $0.value == 1 }.keys.sorted()
        }
        let operandsWithLabels = zip(labelled, operands).map { EinsumOperand(labels: $0.0, shape: $0.1.shape) }
        let plan = EinsumPlan(operands: operandsWithLabels, output: outputLabels, sizes: sizes)
        let shape = outputLabels.map { sizes[$0] ?? 1 }
        if type.isFloatingPoint {
            return try Tensor.fromDoubles(try plan.run(operands.map { try $0.doubleValues() }), shape: shape, as: type)
        }
        guard type.isInteger, type.bitWidth >= 8 else { throw OnyxError.wrongElementType("Einsum is not defined on \(type)") }
        return try Tensor.fromInt64s(try plan.run(operands.map { try $0.int64Values() }), shape: shape, as: type)
    }
}
