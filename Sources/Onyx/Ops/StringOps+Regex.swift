import Foundation

/// StringNormalizer (opset 10): drops the elements of a `[C]` or `[1, C]`
/// string tensor that equal a stopword, then changes case
/// (`case_change_action` LOWER, UPPER or NONE).
///
/// - Stopwords match whole elements, as the spec says (ONNX's Python
///   reference instead removes space-separated words inside elements and
///   strips accents; onnxruntime, like this kernel, does neither).
/// - `is_case_sensitive` = 0 compares lowercased forms.
/// - When every element is dropped the output is `[""]` (shape `[1]`, or
///   `[1, 1]` for a `[1, C]` input).
/// - `locale` (default en_US) selects the case mapping. English, C/POSIX
///   and the empty locale use Unicode's default mapping (what en_US does);
///   other locales known to the platform's ICU data use its locale-specific
///   rules (e.g. Turkish dotted/dotless i). A locale ICU does not know is
///   refused when the plan is built, never silently mapped.
struct StringNormalizerKernel: Kernel {
    enum CaseChange: String { case lower = "LOWER", upper = "UPPER", none = "NONE" }

    let caseChange: CaseChange
    let caseSensitive: Bool
    let stopwords: Set<[UInt8]>
    let locale: Locale?

    init(_ context: OpContext) throws {
        let action = try context.string("case_change_action", default: "NONE")
        try context.check("case_change_action", action, in: ["LOWER", "UPPER", "NONE"])
        caseChange = CaseChange(rawValue: action) ?? .none
        let sensitive = try context.int("is_case_sensitive", default: 0) != 0
        let locale = try Self.locale(try context.string("locale", default: "en_US"))
        let words = try context.strings("stopwords") ?? []
        caseSensitive = sensitive
        self.locale = locale
        stopwords = Set(words.map { Array((sensitive ? $0 : Self.lower($0, locale)).utf8) })
    }

    /// nil for the default Unicode case mapping; throws for unknown locales.
    static func locale(_ name: String) throws -> Locale? {
        var identifier = name
        if let cut = identifier.firstIndex(where: { $0 == "." || $0 == "@" }) { identifier = String(identifier[..<cut]) }
        identifier = identifier.replacingOccurrences(of: "-", with: "_")
        let language = identifier.split(separator: "_").first.map(String.init)?.lowercased() ?? ""
        if ["", "en", "c", "posix"].contains(language) { return nil }
        guard Locale.availableIdentifiers.contains(language) else {
            throw OnyxError.unsupportedOperator(
                "attribute \"locale\" = \"\(name)\" is not a locale this platform knows; its case rules cannot be honoured")
        }
        return Locale(identifier: identifier)
    }

    static func lower(_ text: String, _ locale: Locale?) -> String {
        locale.map { text.lowercased(with: $0) } ?? text.lowercased()
    }

    func run(_ inputs: [Value?], _ context: RunContext) throws -> [Value?] {
        let input = try StringOps.strings(inputs, 0)
        let shape = input.shape
        guard shape.count == 1 || (shape.count == 2 && shape[0] == 1) else {
            throw OnyxError.shapeMismatch("StringNormalizer takes a [C] or [1, C] tensor, got shape \(shape)")
        }
        var kept: [[UInt8]] = []
        for bytes in input.stringBytes ?? [] {
            let text = String(decoding: bytes, as: UTF8.self)
            if !stopwords.isEmpty {
                let key = caseSensitive ? bytes : Array(Self.lower(text, locale).utf8)
                if stopwords.contains(key) { continue }
            }
            switch caseChange {
            case .none: kept.append(bytes)
            case .lower: kept.append(Array(Self.lower(text, locale).utf8))
            case .upper: kept.append(Array((locale.map { text.uppercased(with: $0) } ?? text.uppercased()).utf8))
            }
        }
        if kept.isEmpty { kept = [[]] }
        let outShape = shape.count == 1 ? [kept.count] : [1, kept.count]
        return [.tensor(try Tensor(shape: outShape, stringBytes: kept))]
    }
}

/// RegexFullMatch (opset 20): true where the whole element matches
/// `pattern` (RE2 syntax).
///
/// Matching uses ICU (NSRegularExpression) on the UTF-8-decoded element,
/// with the pattern wrapped as `\A(?:pattern)\z`. RE2 syntax is translated
/// where ICU differs: `\d \D \s \S \w \W` are ASCII-only as in RE2,
/// `(?P<name>` becomes `(?<name>`, `\pL` becomes `\p{L}`. RE2's `\C` is
/// refused. Remaining differences: `\b` uses Unicode word characters, and
/// ICU accepts some constructs RE2 rejects (backreferences, lookaround).
struct RegexFullMatchKernel: Kernel {
    final class Compiled: @unchecked Sendable {
        let expression: NSRegularExpression
        init(_ expression: NSRegularExpression) { self.expression = expression }
    }

    let compiled: Compiled

    init(_ context: OpContext) throws {
        guard let pattern = try context.string("pattern") else {
            throw OnyxError.invalidModel("attribute \"pattern\" is required")
        }
        let translated = try Self.translate(pattern)
        do {
            compiled = Compiled(try NSRegularExpression(pattern: "\\A(?:" + translated + ")\\z"))
        } catch {
            throw OnyxError.invalidModel("attribute \"pattern\" = \"\(pattern)\" is not a valid regular expression")
        }
    }

    /// Rewrites RE2 escapes whose ICU meaning differs.
    static func translate(_ pattern: String) throws -> String {
        let classes: [Character: String] = [
            "d": "[0-9]", "D": "[^0-9]", "s": "[\\t\\n\\f\\r ]", "S": "[^\\t\\n\\f\\r ]",
            "w": "[0-9A-Za-z_]", "W": "[^0-9A-Za-z_]",
        ]
        let characters = Array(pattern)
        var out = ""
        var i = 0
        while i < characters.count {
            let c = characters[i]
            i += 1
            if c == "(", characters[i...].starts(with: ["?", "P", "<"]) {
                out += "(?<"
                i += 3
                continue
            }
            guard c == "\\", i < characters.count else {
                out.append(c)
                continue
            }
            let next = characters[i]
            i += 1
            if let replacement = classes[next] {
                out += replacement
            } else if next == "C" {
                throw OnyxError.unsupportedOperator("RegexFullMatch: RE2's \\C (any byte) is not supported")
            } else if (next == "p" || next == "P"), i < characters.count, characters[i] != "{" {
                out += "\\\(next){\(characters[i])}"
                i += 1
            } else {
                out.append(c)
                out.append(next)
            }
        }
        return out
    }

    func run(_ inputs: [Value?], _ context: RunContext) throws -> [Value?] {
        let input = try StringOps.strings(inputs, 0)
        let expression = compiled.expression
        let matches = (input.stringBytes ?? []).map { bytes -> Bool in
            let text = String(decoding: bytes, as: UTF8.self)
            let range = NSRange(location: 0, length: text.utf16.count)
            return expression.firstMatch(in: text, options: [], range: range) != nil
        }
        return [.tensor(try Tensor(shape: input.shape, scalars: matches))]
    }
}
