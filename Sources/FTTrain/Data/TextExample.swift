/// Where a row came from: the file and the 1-based physical line on which the row starts.
///
/// Lines are counted the way an editor counts them (LF, CRLF and a lone CR each end one line), so a
/// CSV row whose quoted text spans several lines reports the line of its first character.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// The path as the user gave it (not resolved), so messages show what they typed.
    public var file: String
    /// 1-based line number of the row's start.
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `file:line`, the form editors and terminals turn into links.
    public var description: String { "\(file):\(line)" }
}

/// One labelled example as read from a file: cleaned text, optional second text, and the label as
/// a string (integer labels are normalised to their decimal form, e.g. JSON `1` → `"1"`).
public struct TextExample: Sendable, Hashable {
    /// The (cleaned) text to classify.
    public var text: String
    /// The (cleaned) second segment for sentence-pair tasks, or `nil` for single-text tasks.
    public var textPair: String?
    /// The label, trimmed of surrounding whitespace; never empty.
    public var label: String
    /// Where the row starts in its file.
    public var location: SourceLocation

    public init(text: String, textPair: String? = nil, label: String, location: SourceLocation) {
        self.text = text
        self.textPair = textPair
        self.label = label
        self.location = location
    }
}

/// An example whose label has been mapped to its class id by a `LabelSet`: what the trainer batches.
public struct EncodedExample: Sendable, Hashable {
    /// The cleaned text.
    public var text: String
    /// The cleaned second text, if the task has pairs.
    public var textPair: String?
    /// Index into `LabelSet.labels`.
    public var labelId: Int
    /// Where the row starts, for error reports on misclassified examples.
    public var location: SourceLocation

    public init(text: String, textPair: String? = nil, labelId: Int, location: SourceLocation) {
        self.text = text
        self.textPair = textPair
        self.labelId = labelId
        self.location = location
    }
}
