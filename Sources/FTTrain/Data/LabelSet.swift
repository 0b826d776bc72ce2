/// The classes of a run: label ↔ id, in the order users expect to see in `id2label`.
///
/// If every label is an integer (`isIntegerLabel`), ids follow numeric order, so labels `0, 1, 2, 10`
/// get ids 0…3 in that order (a string sort would put `10` before `2`). Otherwise labels are sorted
/// by Unicode code point — Python's `sorted()`, and scikit-learn's `LabelEncoder` — so `neg < pos`,
/// and ASCII upper case before lower case. Build it from the training split only: a validation or
/// test label the model has no output for is an error (`encode`), not a silently added class.
public struct LabelSet: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Labels by id.
    public let labels: [String]
    /// Whether the labels are integers ordered numerically.
    public let isNumeric: Bool
    private let ids: [String: Int]

    /// The distinct labels of `labels`, ordered as described above.
    public init(labels: some Sequence<String>) {
        let distinct = Array(Set(labels))
        let numeric = !distinct.isEmpty && distinct.allSatisfy(LabelSet.isIntegerLabel)
        self.labels =
            numeric
            ? distinct.sorted { Int($0)! < Int($1)! }
            : distinct.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }  // UTF-8 order is code point order
        isNumeric = numeric
        ids = Dictionary(uniqueKeysWithValues: self.labels.enumerated().map { ($1, $0) })
    }

    /// The label set of a training split.
    public init(training examples: [TextExample]) {
        self.init(labels: examples.map(\.label))
    }

    private enum CodingKeys: String, CodingKey { case labels }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let labels = try container.decode([String].self, forKey: .labels)
        // Keep the stored order: a checkpoint's head rows are tied to these ids.
        self.labels = labels
        isNumeric = !labels.isEmpty && labels.allSatisfy(LabelSet.isIntegerLabel)
        ids = Dictionary(labels.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(labels, forKey: .labels)
    }

    public static func == (lhs: LabelSet, rhs: LabelSet) -> Bool { lhs.labels == rhs.labels }

    /// Number of classes.
    public var count: Int { labels.count }

    /// The id of `label`, or nil when the training split never had it.
    public func id(for label: String) -> Int? { ids[label] }

    /// The label of `id`.
    public func label(for id: Int) -> String { labels[id] }

    /// `id2label` as Hugging Face's `config.json` holds it.
    public var id2label: [Int: String] { Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0, $1) }) }

    /// `label2id` as Hugging Face's `config.json` holds it.
    public var label2id: [String: Int] { ids }

    /// `0: neg, 1: pos`.
    public var description: String {
        labels.enumerated().map { "\($0): \($1)" }.joined(separator: ", ")
    }

    /// Whether `label` is a canonical decimal integer that fits in `Int`: an optional `-`, then `0` or
    /// digits not starting with `0`. `"007"` and `"+1"` are not (they would not round-trip).
    public static func isIntegerLabel(_ label: String) -> Bool {
        var utf8 = Substring(label).utf8
        if utf8.first == UInt8(ascii: "-") { utf8 = utf8.dropFirst() }
        guard let first = utf8.first, utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        if first == UInt8(ascii: "0") && (utf8.count > 1 || label.hasPrefix("-")) { return false }
        return Int(label) != nil
    }

    /// Maps examples to class ids. An example whose label is not in the set is a bad row naming its
    /// file and line; with `skipBadRows` such rows are dropped and returned, otherwise this throws
    /// `DataError.badRows` listing them.
    public func encode(_ examples: [TextExample], skipBadRows: Bool = false) throws -> (examples: [EncodedExample], skipped: [BadRow]) {
        var encoded: [EncodedExample] = []
        encoded.reserveCapacity(examples.count)
        var bad: [BadRow] = []
        for example in examples {
            guard let id = ids[example.label] else {
                let known = labels.prefix(20).map { "\"\($0)\"" }.joined(separator: ", ") + (labels.count > 20 ? ", ..." : "")
                bad.append(
                    BadRow(
                        location: example.location,
                        reason: "label \"\(example.label)\" does not occur in the training split (its labels: \(known))"))
                continue
            }
            encoded.append(EncodedExample(text: example.text, textPair: example.textPair, labelId: id, location: example.location))
        }
        if !bad.isEmpty && !skipBadRows { throw DataError.badRows(bad) }
        return (encoded, bad)
    }

    /// Examples per class id.
    public func counts(_ examples: [EncodedExample]) -> [Int] {
        var counts = [Int](repeating: 0, count: count)
        for example in examples { counts[example.labelId] += 1 }
        return counts
    }
}
