import FTCore
import FTModel
import Foundation

/// Why `fttrain select` refused: each message names the file or option and the problem.
public enum ActiveLearningError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An option that makes no sense (a budget larger than the pool, `--labeled` without kcenter).
    case invalidArgument(String)
    /// A pool or labelled row the model cannot score (no text).
    case invalidRow(path: String, line: Int, reason: String)
    /// The model directory is not a fine-tuned sequence classifier.
    case notAClassifier(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidArgument(let reason): return reason
        case .invalidRow(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .notAClassifier(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// What `fttrain select` is asked to do.
public struct PoolSelectionOptions: Sendable {
    /// The unlabelled pool: CSV, TSV or JSON Lines (labels, if any, are ignored).
    public var poolPath: String
    /// Rows to choose.
    public var budget: Int
    public var strategy: SelectionStrategy
    /// Rows already labelled, whose embeddings are k-center's first centres (kcenter only).
    public var labeledPath: String?
    public var textColumn = "text"
    public var textPairColumn: String?
    /// Seeds `random` and k-center's first centre when nothing is labelled.
    public var seed: UInt64 = 42
    public var batchSize = 64
    public var maxLength = 128

    public init(poolPath: String, budget: Int, strategy: SelectionStrategy, labeledPath: String? = nil) {
        self.poolPath = poolPath
        self.budget = budget
        self.strategy = strategy
        self.labeledPath = labeledPath
    }
}

/// `fttrain select`: scores an unlabelled pool with a fine-tuned classifier, ranks it by a
/// strategy, and writes the chosen rows (every original column, then `score` and `rank`).
public enum PoolSelection {
    /// The chosen rows of `options.poolPath`, best first. Collective over `world`: every rank
    /// scores its share of the batches (``PoolScores/compute(model:dataset:batchSize:padTokenId:embeddings:world:)``)
    /// and every rank returns the same selection, the one a single process makes.
    public static func select(
        modelDirectory: URL, options: PoolSelectionOptions, world: TrainingWorld = SingleProcessWorld()
    ) throws -> (pool: DataTable, selected: [SelectedRow]) {
        if options.labeledPath != nil && options.strategy != .kcenter {
            throw ActiveLearningError.invalidArgument(
                "--labeled gives k-center its first centres; it means nothing to --strategy \(options.strategy.rawValue)")
        }
        guard options.budget >= 1 else { throw ActiveLearningError.invalidArgument("--budget must be at least 1, got \(options.budget)") }
        let pool = try DataTable.read(options.poolPath)
        guard options.budget <= pool.rows.count else {
            throw ActiveLearningError.invalidArgument(
                "--budget \(options.budget) is larger than the pool: \(options.poolPath) has \(pool.rows.count) rows")
        }
        for column in ["score", "rank"] where pool.header.contains(column) {
            throw ActiveLearningError.invalidArgument(
                "\(options.poolPath) already has a `\(column)` column, which the selection would write again; rename it")
        }
        let poolTexts = try texts(of: pool, options: options)
        let labeledTexts = try options.labeledPath.map { try texts(of: DataTable.read($0), options: options) } ?? []

        guard let labels = try HuggingFaceExport.labels(modelDirectory: modelDirectory) else {
            throw ActiveLearningError.notAClassifier(
                path: modelDirectory.appendingPathComponent("config.json").path, reason: "no id2label: not a fine-tuned classifier")
        }
        let tokenizer = try EncoderTokenizers.load(modelDirectory: modelDirectory)
        let model = try ModelRegistry.load(modelDirectory: modelDirectory, numLabels: labels.count)
        guard model.architectureName.hasSuffix("ForSequenceClassification") else {
            throw ActiveLearningError.notAClassifier(
                path: modelDirectory.path, reason: "a \(model.architectureName); select ranks texts with a sequence classifier")
        }
        let maxLength = min(options.maxLength, model.maxSequenceLength)
        func scores(_ rows: [(text: String, pair: String?)]) throws -> PoolScores {
            let dataset = EncodedDataset.encode(
                texts: rows.map(\.text), pairs: rows.map(\.pair), labels: [Int32](repeating: 0, count: rows.count),
                tokenizer: tokenizer, maxLength: maxLength)
            return try PoolScores.compute(
                model: model, dataset: dataset, batchSize: options.batchSize, padTokenId: tokenizer.padTokenId,
                embeddings: options.strategy.needsEmbeddings, world: world)
        }
        let scored = try scores(poolTexts)
        let selected: [SelectedRow]
        if options.strategy == .kcenter {
            let labeled = labeledTexts.isEmpty ? [] : try scores(labeledTexts).embeddings
            selected = KCenterGreedy.select(
                pool: scored.embeddings, labeled: labeled, dimension: scored.hiddenSize, budget: options.budget, seed: options.seed)
        } else {
            let values = UncertaintyScores.scores(
                probabilities: scored.probabilities, classes: scored.classes, strategy: options.strategy, seed: options.seed)
            selected = UncertaintyScores.rank(values, budget: options.budget, higherFirst: options.strategy.higherFirst)
        }
        return (pool, selected)
    }

    /// The text (and pair) of every row; a row without text is an error naming its line.
    static func texts(of table: DataTable, options: PoolSelectionOptions) throws -> [(text: String, pair: String?)] {
        let column = try table.columnIndex(options.textColumn)
        let pairColumn = try options.textPairColumn.map(table.columnIndex)
        return try table.rows.map { row in
            guard let text = row.value(at: column), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ActiveLearningError.invalidRow(path: table.path, line: row.line, reason: "no text in column \"\(options.textColumn)\"")
            }
            return (text, pairColumn.flatMap { row.value(at: $0) })
        }
    }

    /// The file text of the chosen rows in `pool`'s format, best first: each row's columns as read,
    /// then `score` and `rank` (CSV/TSV: two more fields; JSON Lines: two more keys at the end of
    /// the object, every other byte of the line kept).
    public static func serialized(pool: DataTable, selected: [SelectedRow]) -> String {
        switch pool.format {
        case .jsonl:
            return selected.map { pick in
                var raw = Substring(pool.rows[pick.index].raw)
                while let last = raw.last, last.isWhitespace { raw = raw.dropLast() }
                raw = raw.dropLast()  // the closing brace
                let body = raw.trimmingCharacters(in: .whitespaces)
                let separator = body.hasSuffix("{") ? "" : ", "
                return "\(raw)\(separator)\"score\": \(number(pick.score)), \"rank\": \(pick.rank)}\n"
            }.joined()
        case .csv, .tsv:
            let rows = selected.map { pick in
                let row = pool.rows[pick.index]
                return DataTable.Row(
                    line: row.line, fields: row.fields + [number(pick.score), String(pick.rank)], scalars: [:], raw: "",
                    columns: row.columns + 2)
            }
            let widened = DataTable(path: pool.path, format: pool.format, header: pool.header + ["score", "rank"], rows: rows)
            return widened.serialized(rows)
        }
    }

    /// A score as JSON and CSV both read it: Swift's shortest round-tripping form.
    static func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "0" }
}
