/// Turns one row's raw values into a cleaned `TextExample`, or records why it cannot be one.
/// Shared by the CSV/TSV and JSONL readers so both apply the same rules.
///
/// Unlabelled mode (prediction input) reads no label column and keeps every row — the i-th text is
/// the i-th data row — so empty texts are kept there rather than rejected.
struct ExampleBuilder {
    let path: String
    let columns: DataColumns
    let cleaning: TextCleaning
    /// Whether rows carry a label (training data) or not (prediction input).
    let labelled: Bool
    /// What the label column holds (`problem_type`): each label is checked and made canonical.
    var labelKind: LabelKind = .name
    private(set) var examples: [TextExample] = []
    private(set) var texts: [(text: String, pair: String?)] = []
    private(set) var badRows: [BadRow] = []

    init(path: String, columns: DataColumns, cleaning: TextCleaning, labelled: Bool = true) {
        self.path = path
        self.columns = columns
        self.cleaning = cleaning
        self.labelled = labelled
    }

    /// The columns a file must have.
    var requiredColumns: [String] { labelled ? columns.all : [columns.text] + (columns.textPair.map { [$0] } ?? []) }

    mutating func reject(line: Int, _ reason: String) {
        badRows.append(BadRow(location: SourceLocation(file: path, line: line), reason: reason))
    }

    /// Cleans and checks the values; a row with empty text, an empty pair or an empty label is bad.
    mutating func add(text rawText: String, pair rawPair: String?, label rawLabel: String, line: Int) {
        guard let text = cleaned(rawText, column: columns.text, line: line) else { return }
        var pair: String?
        if let rawPair, let column = columns.textPair {
            guard let cleanedPair = cleaned(rawPair, column: column, line: line) else { return }
            pair = cleanedPair
        }
        var label = ExampleBuilder.trimmed(rawLabel)
        guard !label.isEmpty else {
            let hint = labelKind == .name || labelKind == .number ? "" : " (write [] for a row with none of the labels)"
            reject(line: line, "empty label in column \"\(columns.label)\"\(hint)")
            return
        }
        switch labelKind.canonical(label) {
        case .success(let canonical): label = canonical
        case .failure(let problem):
            reject(line: line, problem.message)
            return
        }
        examples.append(
            TextExample(
                text: text, textPair: pair, label: label,
                location: SourceLocation(file: path, line: line)))
    }

    /// Cleans the values of an unlabelled row and keeps it whatever it holds.
    mutating func addUnlabelled(text: String, pair: String?) {
        texts.append((cleaning.apply(to: text), pair.map(cleaning.apply(to:))))
    }

    private mutating func cleaned(_ raw: String, column: String, line: Int) -> String? {
        let text = cleaning.apply(to: raw)
        // Whitespace-only text is empty even when whitespace collapsing is off: it has no tokens.
        guard ExampleBuilder.trimmed(text).isEmpty else { return text }
        let wasEmpty = ExampleBuilder.trimmed(raw).isEmpty
        reject(line: line, wasEmpty ? "empty text in column \"\(column)\"" : "text in column \"\(column)\" is empty after cleaning")
        return nil
    }

    /// `s` without leading and trailing Unicode whitespace.
    static func trimmed(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return s }
        return String(scalars[first...last])
    }
}
