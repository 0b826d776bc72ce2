import FTCore
import Foundation

/// The `augment:` setting of `fttrain train`: EDA copies (``TextAugmentation``) of the training
/// split's examples, made after the split, so validation and test never see an augmented text.
/// The names mirror `fttrain data augment`'s options, spelled out (`--sr` is `synonym_replacement`):
/// ```yaml
/// augment: {copies: 1, synonym_replacement: 0.1, random_insertion: 0.1, random_swap: 0.1,
///           random_deletion: 0.1, synonyms: syn.txt, unit: word, words: null, seed: 42}
/// ```
/// A key left out keeps its default (the command's); `seed: null` uses the run's seed.
public struct AugmentSettings: Sendable, Equatable {
    /// Augmented copies per training example, each made by one enabled operation in turn.
    public var copies: Int = 1
    /// Fraction of the units replaced by a synonym.
    public var synonymReplacement: Double = 0.1
    /// Fraction of the units whose synonym is inserted at a random place.
    public var randomInsertion: Double = 0.1
    /// Fraction of the units swapped with another.
    public var randomSwap: Double = 0.1
    /// Probability that each unit is deleted.
    public var randomDeletion: Double = 0.1
    /// The synonym file (one group per line: `good, great, fine`); needed by replacement and insertion.
    public var synonyms: String? = nil
    /// Words, characters, or `auto` (characters when the text holds Chinese).
    public var unit: TextAugmentation.Unit = .auto
    /// A Chinese word list (one per line): Chinese text is edited on its words instead of characters.
    public var words: String? = nil
    /// Seeds the edits; nil uses the run's seed.
    public var seed: Int? = nil

    /// The keys of the mapping, in the order `describe()` writes them.
    public static let keys = [
        "copies", "synonym_replacement", "random_insertion", "random_swap", "random_deletion", "synonyms", "unit", "words", "seed",
    ]

    public init() {}

    /// The rates by operation, as ``TextAugmentation`` takes them.
    public var rates: [TextAugmentation.Operation: Double] {
        [
            .synonymReplacement: synonymReplacement, .randomInsertion: randomInsertion, .randomSwap: randomSwap,
            .randomDeletion: randomDeletion,
        ]
    }

    /// What is wrong with the settings, one sentence each naming the key (empty when usable).
    public var problems: [String] {
        var problems: [String] = []
        if copies < 1 { problems.append("`augment.copies` must be >= 1, found \(copies)") }
        for op in TextAugmentation.Operation.allCases {
            let rate = rates[op]!
            if !(rate >= 0 && rate <= 1) { problems.append("`augment.\(op.rawValue)` must be a rate in [0, 1], found \(rate)") }
        }
        if rates.values.allSatisfy({ $0 == 0 }) { problems.append("`augment`: every operation rate is 0, so nothing would be added") }
        if synonyms == nil && (synonymReplacement > 0 || randomInsertion > 0) {
            problems.append(
                "`augment.synonym_replacement` and `augment.random_insertion` need `augment.synonyms` (a synonym file); set them to 0 or name the file"
            )
        }
        if let seed, seed < 0 { problems.append("`augment.seed` must be >= 0, found \(seed)") }
        return problems
    }
}

/// What augmentation added to a training split, for the log and the lineage.
public struct AugmentationSummary: Sendable, Equatable {
    /// Training examples before augmentation.
    public var originalRows = 0
    /// Augmented examples added.
    public var added = 0
    /// Added examples per operation.
    public var byOperation: [TextAugmentation.Operation: Int] = [:]

    /// `augment added 400 rows to the training split (100 synonym_replacement, ...)`.
    public var logLine: String {
        let ops = TextAugmentation.Operation.allCases.compactMap { op in byOperation[op].map { "\($0) \(op.rawValue)" } }
        return "augment added \(added) rows to the training split of \(originalRows) (\(ops.joined(separator: ", ")))"
    }
}

/// Applies ``AugmentSettings`` to a training split.
public enum TrainingAugmentation {
    /// `examples` each followed by its copies (label, pair and location kept; only the text edited).
    /// The example from line L draws from `SeededRNG(seed: seed, stream: L)` and its copies take
    /// the enabled operations in turn from number L × copies, so with fewer copies than operations
    /// the operations still alternate over the rows; a row's copies depend only on its text, its
    /// line and the seed, not on the split around it.
    /// - Throws: `DataError.fileNotFound` / `DataToolError` for an unreadable synonym file.
    public static func augment(
        _ examples: [TextExample], settings: AugmentSettings, runSeed: UInt64
    ) throws -> (examples: [TextExample], summary: AugmentationSummary) {
        if let problem = settings.problems.first { throw DataToolError.invalidArgument(problem) }
        let synonyms = try settings.synonyms.map(TextAugmentation.readSynonyms) ?? [:]
        let words = try settings.words.map(TextAugmentation.readWords) ?? []
        let eda = TextAugmentation(rates: settings.rates, unit: settings.unit, synonyms: synonyms, words: words)
        let seed = settings.seed.map(UInt64.init) ?? runSeed
        var summary = AugmentationSummary(originalRows: examples.count)
        var out: [TextExample] = []
        out.reserveCapacity(examples.count * (settings.copies + 1))
        for example in examples {
            out.append(example)
            var rng = SeededRNG(seed: seed, stream: UInt64(example.location.line))
            let first = example.location.line &* settings.copies
            for (op, text) in eda.augment(example.text, count: settings.copies, firstOperation: first, using: &rng) where !text.isEmpty {
                var copy = example
                copy.text = text
                out.append(copy)
                summary.added += 1
                summary.byOperation[op, default: 0] += 1
            }
        }
        return (out, summary)
    }
}
