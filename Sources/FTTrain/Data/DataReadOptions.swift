/// Which columns (CSV/TSV header names, or JSONL keys) hold the text, the optional second text and
/// the label. Names are matched exactly after trimming surrounding whitespace from the header.
public struct DataColumns: Sendable, Equatable, Codable {
    /// Column of the text to classify; default `text`.
    public var text: String
    /// Column of the second text for sentence-pair tasks; default none.
    public var textPair: String?
    /// Column of the label; default `label`.
    public var label: String
    /// Regression with several outputs: the columns holding one number each, in output order; when
    /// set, they replace `label` (the row's label is their numbers joined by `LabelKind.listJoiner`).
    public var labels: [String]?

    public init(text: String = "text", textPair: String? = nil, label: String = "label", labels: [String]? = nil) {
        self.text = text
        self.textPair = textPair
        self.label = label
        self.labels = labels
    }

    /// The configured names in the order text, pair, label (or labels).
    var all: [String] { [text] + (textPair.map { [$0] } ?? []) + (labels ?? [label]) }
}

/// How a data file is read.
public struct DataReadOptions: Sendable, Equatable, Codable {
    /// The format, or nil to infer it from the file's extension (`DataFormat.inferred(fromPath:)`).
    public var format: DataFormat?
    /// Which columns hold text, pair and label.
    public var columns: DataColumns
    /// Cleaning applied to text and pair before the empty-text check (so text that cleans to
    /// nothing is a bad row).
    public var cleaning: TextCleaning
    /// When false (the default), any bad row fails the load with a message listing them; when true,
    /// bad rows are dropped and returned in `LoadedData.skippedRows` for the caller to log.
    public var skipBadRows: Bool
    /// What the label column holds: a class name (default), a number (regression) or a list (multi-label).
    public var labelKind: LabelKind = .name

    public init(
        format: DataFormat? = nil, columns: DataColumns = DataColumns(),
        cleaning: TextCleaning = .default, skipBadRows: Bool = false
    ) {
        self.format = format
        self.columns = columns
        self.cleaning = cleaning
        self.skipBadRows = skipBadRows
    }
}

/// The examples of one file, with what was skipped.
public struct LoadedData: Sendable {
    /// The path as given.
    public var path: String
    /// The format read (given or inferred).
    public var format: DataFormat
    /// Good rows, in file order.
    public var examples: [TextExample]
    /// Rows dropped because `skipBadRows` was set (empty otherwise: bad rows fail the load).
    public var skippedRows: [BadRow]
    /// Whether every label is an integer (`LabelSet.isIntegerLabel`): then `LabelSet` orders labels
    /// numerically and the labels can be written back as numbers.
    public var allLabelsAreIntegers: Bool

    /// Records a load; `allLabelsAreIntegers` is computed from `examples`.
    public init(path: String, format: DataFormat, examples: [TextExample], skippedRows: [BadRow]) {
        self.path = path
        self.format = format
        self.examples = examples
        self.skippedRows = skippedRows
        allLabelsAreIntegers = !examples.isEmpty && examples.allSatisfy { LabelSet.isIntegerLabel($0.label) }
    }
}
