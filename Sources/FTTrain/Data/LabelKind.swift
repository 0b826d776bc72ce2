/// What a data file's label column holds, by `problem_type`: a class name (single-label), a
/// number (regression) or a list of class names (multi-label). The readers put every label into
/// `TextExample.label` as text; `canonical(_:)` checks it and gives the one form the rest of the
/// pipeline reads (`names(_:)` splits a list back).
public enum LabelKind: Sendable, Equatable, Codable {
    /// One class name per row (a JSON string or integer): single-label classification.
    case name
    /// One number per row (a JSON number or numeric text), finite: regression's target.
    case number
    /// A list of class names per row: a JSON array of strings or integers, or text split at
    /// `separator` (CSV/TSV cells, JSON strings). `[]` is the empty list (a row with none of the
    /// labels); an empty cell is a missing label.
    case list(separator: String?)

    /// Joins the names of a list label in its canonical text (a control character no label has).
    static let listJoiner = "\u{1F}"
    /// The canonical text of the empty list.
    static let emptyList = "[]"

    /// The label's canonical text, or why the row's label does not fit this kind.
    /// - Parameter label: the trimmed, non-empty label as read (a JSON array already joined by
    ///   `listJoiner`, an empty one as `[]`).
    func canonical(_ label: String) -> Result<String, LabelProblem> {
        switch self {
        case .name:
            return .success(label)
        case .number:
            // One number, or several joined by `listJoiner` (a list, or `label_columns`).
            let pieces = label.components(separatedBy: Self.listJoiner)
            for (k, raw) in pieces.enumerated() {
                let piece = ExampleBuilder.trimmed(raw)
                let which = pieces.count > 1 ? " (output \(k + 1) of \(pieces.count))" : ""
                guard !piece.isEmpty else { return .failure(LabelProblem("empty number\(which) (problem_type regression)")) }
                guard let value = Double(piece) else {
                    return .failure(LabelProblem("label \"\(piece)\"\(which) is not a number (problem_type regression needs a number per output)"))
                }
                guard value.isFinite, Float(value).isFinite else {
                    return .failure(LabelProblem("label \(piece)\(which) is not a finite number (problem_type regression)"))
                }
            }
            return .success(pieces.map(ExampleBuilder.trimmed).joined(separator: Self.listJoiner))
        case .list(let separator):
            if label == Self.emptyList { return .success(Self.emptyList) }
            var pieces = label.components(separatedBy: Self.listJoiner)
            if let separator, !separator.isEmpty { pieces = pieces.flatMap { $0.components(separatedBy: separator) } }
            var names: [String] = []
            for piece in pieces {
                let name = ExampleBuilder.trimmed(piece)
                guard !name.isEmpty else {
                    return .failure(LabelProblem("empty label name in the list \"\(label.replacingOccurrences(of: Self.listJoiner, with: ", "))\""))
                }
                if Double(name) != nil && JSONLinesReading.integerText(name) == nil {
                    return .failure(
                        LabelProblem("label \(name) is a number, not a label name (problem_type multi_label_classification takes a list of names)"))
                }
                if !names.contains(name) { names.append(name) }
            }
            return .success(names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.joined(separator: Self.listJoiner))
        }
    }

    /// The numbers of a canonical regression label (one per output).
    public static func numbers(_ canonical: String) -> [Double] {
        canonical.components(separatedBy: listJoiner).map { Double($0)! }
    }

    /// The names of a canonical list label (empty for `[]`).
    public static func names(_ canonical: String) -> [String] {
        canonical == emptyList ? [] : canonical.components(separatedBy: listJoiner)
    }
}

/// Why a label does not fit its `LabelKind`, as the bad row's reason.
struct LabelProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
