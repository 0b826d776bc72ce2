import FTCore
import FTModel
import Foundation

/// The data of a multi-label or regression run: files read with the problem type's label kind
/// (lists of names, or numbers), de-duplicated, split and turned into targets.
///
/// Unlike single-label data the split is a seeded random one (there is no class to stratify by,
/// as with Hugging Face's `train_test_split` without `stratify_by_column`); the multi-label
/// classes are the names seen in training, sorted as `LabelSet` sorts them, and a validation or
/// test row naming another is a bad row (file and line), as an unseen single label is.
public struct ProblemTypeData: Sendable {
    public let problemType: ProblemType
    /// Output names in id order: the multi-label classes, or for regression `label_columns`, else
    /// `LABEL_0`, `LABEL_1`, … (as transformers names outputs without `id2label`).
    public let labels: [String]
    public let train: [TextExample]
    public let validation: [TextExample]
    public let test: [TextExample]
    public let logLines: [String]

    /// Reads and splits the files of `options` (its `read.labelKind` is set here from `problemType`).
    /// - Throws: `DataError` naming the file and line of every bad row (a float in a multi-label
    ///   list, an unknown label, a missing or non-finite number, …) unless `skip_bad_rows`.
    ///   Regression rows hold one number per output; every row must hold as many as the first
    ///   training row (the head's width).
    public static func prepare(_ options: DataPreparationOptions, problemType: ProblemType, labelSeparator: String?) throws -> ProblemTypeData {
        precondition(problemType != .singleLabelClassification, "single-label data is TextClassificationData's")
        var read = options.read
        read.labelKind = problemType.labelKind(separator: labelSeparator)
        var log: [String] = ["problem_type: \(problemType.rawValue)"]
        var skipped: [BadRow] = []
        func load(_ path: String) throws -> [TextExample] {
            let loaded = try DataReader.read(path, options: read)
            skipped += loaded.skippedRows
            guard options.deduplicate else { return loaded.examples }
            let (examples, report) = Deduplication.deduplicate(loaded.examples)
            if report.exactDuplicates + report.conflictingRows > 0 { log.append("\(path): \(report)") }
            return examples
        }
        var train: [TextExample], validation: [TextExample], test: [TextExample]
        if options.validationPath != nil || options.testPath != nil {
            train = try load(options.trainPath)
            validation = try options.validationPath.map(load) ?? []
            test = try options.testPath.map(load) ?? []
        } else {
            (train, validation, test) = try split(load(options.trainPath), ratios: options.ratios, seed: options.seed, path: options.trainPath)
            log.append("split \(options.trainPath) at random by \(options.ratios): \(train.count) / \(validation.count) / \(test.count)")
        }

        var labels = ["LABEL_0"]
        if problemType == .multiLabelClassification {
            let distinct = Set(train.flatMap { LabelKind.names($0.label) })
            guard !distinct.isEmpty else {
                throw DataError.badRows([
                    BadRow(
                        location: SourceLocation(file: options.trainPath, line: 1),
                        reason: "no row of the training split has a label: nothing to learn")
                ])
            }
            labels = LabelSet(labels: Array(distinct)).labels
            let known = Set(labels)
            var unknown: [BadRow] = []
            func keepKnown(_ examples: [TextExample]) -> [TextExample] {
                examples.filter { example in
                    guard let name = LabelKind.names(example.label).first(where: { !known.contains($0) }) else { return true }
                    unknown.append(
                        BadRow(
                            location: example.location,
                            reason: "label \"\(name)\" never occurs in the training data (\(labels.joined(separator: ", ")))"))
                    return false
                }
            }
            validation = keepKnown(validation)
            test = keepKnown(test)
            if !unknown.isEmpty {
                guard read.skipBadRows else { throw DataError.badRows(unknown) }
                skipped += unknown
            }
            let counts = labels.map { name in train.filter { LabelKind.names($0.label).contains(name) }.count }
            log.append("labels (training rows with each): " + zip(labels, counts).map { "\($0) \($1)" }.joined(separator: ", "))
            let none = train.filter { $0.label == LabelKind.emptyList }.count
            if none > 0 { log.append("\(none) training rows have none of the labels") }
        } else {
            let first = train[0]
            let width = LabelKind.numbers(first.label).count
            if let names = options.read.columns.labels {
                labels = names
            } else {
                labels = (0..<width).map { "LABEL_\($0)" }
            }
            var wrong: [BadRow] = []
            func keepWidth(_ examples: [TextExample]) -> [TextExample] {
                examples.filter { example in
                    let count = LabelKind.numbers(example.label).count
                    guard count != width else { return true }
                    wrong.append(
                        BadRow(
                            location: example.location,
                            reason: "\(count) number\(count == 1 ? "" : "s") where the regression has \(width) outputs (as \(first.location))"))
                    return false
                }
            }
            train = keepWidth(train)
            validation = keepWidth(validation)
            test = keepWidth(test)
            if !wrong.isEmpty {
                guard read.skipBadRows else { throw DataError.badRows(wrong) }
                skipped += wrong
            }
            let rows = train.map { LabelKind.numbers($0.label) }
            for (k, name) in labels.enumerated() {
                let values = rows.map { $0[k] }
                let mean = values.reduce(0, +) / Double(max(values.count, 1))
                let which = width == 1 ? "targets (train)" : "targets \(name) (train)"
                log.append(which + String(format: ": %d rows, min %g, mean %g, max %g", values.count, values.min() ?? 0, mean, values.max() ?? 0))
            }
        }
        if !skipped.isEmpty {
            log.append("skipped \(skipped.count) bad row\(skipped.count == 1 ? "" : "s"):")
            log += BadRow.summary(of: skipped).split(separator: "\n").map(String.init)
        }
        return ProblemTypeData(problemType: problemType, labels: labels, train: train, validation: validation, test: test, logLines: log)
    }

    /// The `targetsPerExample` entries of each example, row-major: multi-hot 0/1 over `labels`,
    /// or the numbers' float bit patterns (`RegressionObjective.target`), one per output.
    public func targets(_ examples: [TextExample]) -> [Int32] {
        switch problemType {
        case .regression:
            return examples.flatMap { LabelKind.numbers($0.label).map { RegressionObjective.target(Float($0)) } }
        default:
            let ids = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
            var rows = [Int32](repeating: 0, count: examples.count * labels.count)
            for (i, example) in examples.enumerated() {
                for name in LabelKind.names(example.label) { rows[i * labels.count + ids[name]!] = 1 }
            }
            return rows
        }
    }

    /// A seeded shuffle cut by `ratios` (train, validation, test).
    static func split(
        _ examples: [TextExample], ratios: SplitRatios, seed: UInt64, path: String
    ) throws -> ([TextExample], [TextExample], [TextExample]) {
        var shuffled = examples
        var rng = SeededRNG(seed: seed, stream: 0x5052_4F42)
        SeededShuffle.shuffle(&shuffled, using: &rng)
        let total = ratios.train + ratios.validation + ratios.test, n = shuffled.count
        let nValidation = min(Int((Double(n) * ratios.validation / total).rounded()), max(n - 1, 0))
        let nTest = min(Int((Double(n) * ratios.test / total).rounded()), max(n - 1 - nValidation, 0))
        guard n - nValidation - nTest > 0 else { throw DataError.invalidSplit("\(path): \(n) examples leave no training split") }
        return (
            Array(shuffled[(nValidation + nTest)...]), Array(shuffled[0..<nValidation]),
            Array(shuffled[nValidation..<(nValidation + nTest)])
        )
    }
}
