/// Everything that decides which examples a text-classification run sees, in one place.
public struct DataPreparationOptions: Sendable {
    /// The labelled data; split by `ratios` unless `validationPath` or `testPath` is given.
    public var trainPath: String
    /// A separate validation file. When either this or `testPath` is set, nothing is split: the files
    /// are used as given (a missing one is an empty split).
    public var validationPath: String?
    /// A separate test file (see `validationPath`).
    public var testPath: String?
    /// Format, columns, cleaning and bad-row policy, for every file.
    public var read: DataReadOptions
    /// Used only when the training file is split (no separate validation or test file).
    public var ratios: SplitRatios
    /// Seeds the split (`seed`) and the oversampling (`seed + 1`).
    public var seed: UInt64
    /// Drop repeated (text, pair) rows within each file, keeping the first.
    public var deduplicate: Bool
    /// Top minority classes of the training split up to the majority count.
    public var oversample: Bool
    /// Loss weights per class, computed on the final training split.
    public var classWeighting: ClassWeighting
    /// EDA copies added to the training split after the split (never to validation or test).
    public var augment: AugmentSettings?

    public init(
        trainPath: String, validationPath: String? = nil, testPath: String? = nil,
        read: DataReadOptions = DataReadOptions(), ratios: SplitRatios = .default, seed: UInt64 = 42,
        deduplicate: Bool = true, oversample: Bool = false, classWeighting: ClassWeighting = .none,
        augment: AugmentSettings? = nil
    ) {
        self.trainPath = trainPath
        self.validationPath = validationPath
        self.testPath = testPath
        self.read = read
        self.ratios = ratios
        self.seed = seed
        self.deduplicate = deduplicate
        self.oversample = oversample
        self.classWeighting = classWeighting
        self.augment = augment
    }
}

/// The data of a run, ready for tokenization, with what happened on the way for the log.
public struct PreparedData: Sendable {
    /// Classes, from the training split.
    public var labelSet: LabelSet
    /// Training examples (including augmented and oversampled copies when enabled).
    public var train: [EncodedExample]
    /// Validation examples (empty when there is no validation split).
    public var validation: [EncodedExample]
    /// Test examples (empty when there is no test split).
    public var test: [EncodedExample]
    /// Loss weights per class id, or nil when `ClassWeighting.none`. Computed on the final training
    /// split, so with oversampling on, `balanced` weights are all 1.
    public var classWeights: [Float]?
    /// Counts per label per split, after augmentation and before oversampling.
    public var summary: DatasetSummary
    /// Bad rows dropped (only with `skipBadRows`), from every file, including unseen labels.
    public var skippedRows: [BadRow]
    /// One report per de-duplicated file, in the order train, validation, test.
    public var deduplication: [(path: String, report: DeduplicationReport)]
    /// Oversampled copies per label (empty when oversampling is off).
    public var oversampledCopies: [String: Int]
    /// What `augment` added to the training split (nil when augmentation is off).
    public var augmentation: AugmentationSummary? = nil
    /// Validation and test examples whose text (and pair) also occurs in the training split: with
    /// separate files this is leakage the user should know about.
    public var overlapWithTrain: Int
    /// Whether all labels were integers (then they can be written back as numbers).
    public var allLabelsAreIntegers: Bool

    /// Lines for the run log: the summary table, then what was dropped or added.
    public var logLines: [String] {
        var lines = ["labels: \(labelSet)"]
        lines += summary.description.split(separator: "\n").map(String.init)
        for (path, report) in deduplication where report.exactDuplicates + report.conflictingRows > 0 {
            lines.append("\(path): \(report)")
        }
        if !skippedRows.isEmpty {
            lines.append("skipped \(skippedRows.count) bad row\(skippedRows.count == 1 ? "" : "s"):")
            lines += BadRow.summary(of: skippedRows).split(separator: "\n").map(String.init)
        }
        if let augmentation { lines.append(augmentation.logLine) }
        if !oversampledCopies.isEmpty {
            let added = labelSet.labels.map { "\($0) +\(oversampledCopies[$0] ?? 0)" }.joined(separator: ", ")
            lines.append("oversampling added copies to the training split: \(added)")
        }
        if overlapWithTrain > 0 {
            lines.append("warning: \(overlapWithTrain) validation/test examples also occur in the training split")
        }
        if let classWeights {
            lines.append("class weights: " + zip(labelSet.labels, classWeights).map { "\($0) \($1)" }.joined(separator: ", "))
        }
        return lines
    }
}

/// The data-in pipeline of a text-classification run: read → clean → de-duplicate → split →
/// label set (from train) → augment the training split → encode → oversample → class weights.
public enum TextClassificationData {
    /// Reads and prepares the data described by `options`.
    /// - Throws: `DataError` from any step; unseen validation/test labels are bad rows.
    public static func prepare(_ options: DataPreparationOptions) throws -> PreparedData {
        var skipped: [BadRow] = []
        var reports: [(path: String, report: DeduplicationReport)] = []
        var integerLabels = true

        func load(_ path: String) throws -> [TextExample] {
            let loaded = try DataReader.read(path, options: options.read)
            skipped += loaded.skippedRows
            integerLabels = integerLabels && loaded.allLabelsAreIntegers
            guard options.deduplicate else { return loaded.examples }
            let (examples, report) = Deduplication.deduplicate(loaded.examples)
            reports.append((path, report))
            return examples
        }

        let splits: DatasetSplits
        if options.validationPath != nil || options.testPath != nil {
            splits = DatasetSplits(
                train: try load(options.trainPath),
                validation: try options.validationPath.map(load) ?? [],
                test: try options.testPath.map(load) ?? [])
        } else {
            let examples = try load(options.trainPath)
            do {
                splits = try StratifiedSplit.split(examples, ratios: options.ratios, seed: options.seed)
            } catch DataError.invalidSplit(let reason) {
                // The split's reasons ("2 examples cannot fill 3 splits") name no file, and every data
                // error should say which file it is about (the fuzz tests found this one).
                throw DataError.invalidSplit("\(options.trainPath): \(reason)")
            }
        }

        let labelSet = LabelSet(training: splits.train)
        let skip = options.read.skipBadRows
        let validation = try labelSet.encode(splits.validation, skipBadRows: skip)
        let test = try labelSet.encode(splits.test, skipBadRows: skip)
        skipped += validation.skipped + test.skipped
        var trainExamples = splits.train
        var augmentation: AugmentationSummary?
        if let settings = options.augment {
            (trainExamples, augmentation) = try TrainingAugmentation.augment(trainExamples, settings: settings, runSeed: options.seed)
        }
        var train = try labelSet.encode(trainExamples).examples

        let summary = DatasetSummary(
            labelSet: labelSet,
            splits: [
                ("train", train), ("validation", validation.examples), ("test", test.examples),
            ])
        var copies: [String: Int] = [:]
        if options.oversample {
            let result = RandomOversampling.oversample(trainExamples, seed: options.seed &+ 1)
            copies = result.added
            train = try labelSet.encode(result.examples).examples
        }
        let weights = try options.classWeighting.weights(for: labelSet, trainingLabelIds: train.map(\.labelId))

        struct Key: Hashable {
            var text: String
            var pair: String?
        }
        let trainKeys = Set(splits.train.map { Key(text: $0.text, pair: $0.textPair) })
        let overlap = (validation.examples + test.examples).filter { trainKeys.contains(Key(text: $0.text, pair: $0.textPair)) }.count

        var prepared = PreparedData(
            labelSet: labelSet, train: train, validation: validation.examples, test: test.examples,
            classWeights: weights, summary: summary, skippedRows: skipped, deduplication: reports,
            oversampledCopies: copies, overlapWithTrain: overlap, allLabelsAreIntegers: integerLabels)
        prepared.augmentation = augmentation
        return prepared
    }
}
