import FTCore
import FTModel
import Foundation

/// The causal-LM task's evaluation: the token-weighted loss of a split and greedy generations
/// scored against the expected completions. Both are collective, dealt to the ranks round-robin
/// and gathered bit for bit (`TrainingWorld.gatherDisjoint`), so every rank gets the same metrics.
public enum CausalLMEvaluation {
    /// The mean next-token loss over every target token of `dataset` (token-weighted, as a
    /// single batch of the whole split would give), and the number of target tokens.
    public static func loss(
        model: any SequenceModel, dataset: EncodedDataset, batchSize: Int, padTokenId: Int32, world: TrainingWorld
    ) throws -> (mean: Double, tokens: Int) {
        precondition(dataset.hasTokenLabels, "the causal-LM loss needs per-token labels")
        let objective = try CausalLanguageModelingObjective(vocabularySize: model.vocabularySize)
        let order = dataset.encodings.indices.sorted { dataset.encodings[$0].count > dataset.encodings[$1].count }
        let starts = Array(stride(from: 0, to: order.count, by: max(batchSize, 1)))
        // Per batch: the summed loss as two floats (high part, remainder) and the target count.
        var parts = [Float](repeating: 0, count: starts.count * 3)
        var batch = PaddedBatch()
        for (j, start) in starts.enumerated() where j % world.size == world.rank {
            batch.fill(from: dataset, indices: order[start..<min(start + batchSize, order.count)], padTokenId: padTokenId)
            let out = try model.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask,
                batch: batch.batchSize, sequence: batch.sequenceLength, training: false, dropoutSeed: 0, firstTokenOnly: false)
            guard let logits = out.logits else { throw ModelError.badInput("\(model.architectureName) has no language-model head") }
            let (sum, targets) = objective.summedLoss(outputs: logits, targets: batch.labels, batch: batch.batchSize, sequence: batch.sequenceLength)
            let high = Float(sum)
            parts[3 * j] = high
            parts[3 * j + 1] = Float(sum - Double(high))
            parts[3 * j + 2] = Float(targets)
        }
        try world.gatherDisjoint(&parts)
        var total = 0.0, tokens = 0
        for j in starts.indices {
            total += Double(parts[3 * j]) + Double(parts[3 * j + 1])
            tokens += Int(parts[3 * j + 2])
        }
        return (tokens > 0 ? total / Double(tokens) : 0, tokens)
    }

    /// Greedy generations of the completion of every example that has a prompt and an expected
    /// completion (`texts[i]` and `pairs[i]`); nil for the others.
    public static func generate(
        model: any CausalLanguageModel, tokenizer: any CausalTokenizer, dataset: EncodedDataset, maxNewTokens: Int,
        world: TrainingWorld
    ) throws -> [String?] {
        let generator = TextGenerator(model: model, tokenizer: tokenizer)
        let width = maxNewTokens + 1
        // (N, maxNewTokens + 1): token id + 1 (0 = none), the last column 1 when the example was generated.
        var tokens = [Float](repeating: 0, count: dataset.count * width)
        for i in 0..<dataset.count where i % world.size == world.rank && dataset.pairs[i] != nil {
            var sampler = LogitsSampler(settings: SamplingSettings(doSample: false))
            let output = try generator.generate(prompt: dataset.texts[i], maxNewTokens: maxNewTokens, sampler: &sampler)
            for (k, token) in output.tokens.enumerated() { tokens[i * width + k] = Float(token + 1) }
            tokens[i * width + maxNewTokens] = 1
        }
        try world.gatherDisjoint(&tokens)
        return (0..<dataset.count).map { i in
            guard tokens[i * width + maxNewTokens] == 1 else { return nil }
            let ids = tokens[(i * width)..<(i * width + maxNewTokens)].prefix { $0 > 0 }.map { Int32($0) - 1 }
            return tokenizer.decode(Array(ids), skipSpecialTokens: true)
        }
    }

    /// The answer as compared, SQuAD's `normalize_answer` (what `scripts/anchors/torch_sft.py`
    /// scores with): lower-cased, ASCII punctuation removed, the articles a/an/the removed,
    /// whitespace collapsed (`" The Fresh."` → `"fresh"`).
    public static func normalize(_ answer: String) -> String {
        let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
        let kept = String(answer.lowercased().filter { !punctuation.contains($0) })
        return kept.split(whereSeparator: \.isWhitespace).filter { !["a", "an", "the"].contains($0) }.joined(separator: " ")
    }

    /// Generations compared with the expected completions.
    public struct Scores {
        public struct Row {
            public var prompt: String
            public var expected: String
            public var generated: String
            public var correct: Bool
            public var source: String?
            public var expectedLabel: String?
            public var predictedLabel: String?
        }
        public var rows: [Row]
        /// Accuracy and classification metrics of the predicted labels, when completions come from labels.
        public var labelMetrics: ClassificationMetrics?
        /// Generations that are no label (counted wrong).
        public var answersNotALabel = 0

        /// The class name of answers that are no label.
        static let noLabel = "(no label)"

        public var exactMatch: Double { rows.isEmpty ? 0 : Double(rows.filter(\.correct).count) / Double(rows.count) }

        public func metrics(prefix: String) -> [String: Double] {
            var values: [String: Double] = [prefix + "exact_match": exactMatch, prefix + "generated": Double(rows.count)]
            if let labelMetrics {
                for (key, value) in labelMetrics.dictionary(prefix: prefix) where !key.contains("auc") && !key.hasSuffix(Self.noLabel) {
                    values[key] = value
                }
                // The macro averages are over the labels alone, as sklearn's with labels=range(K):
                // an answer that is no label is a miss of its true label, not a class of its own.
                let real = labelMetrics.perClass.prefix(labelMetrics.classNames.count - (answersNotALabel > 0 ? 1 : 0))
                if !real.isEmpty {
                    let k = Double(real.count)
                    values[prefix + "precision_macro"] = real.map(\.precision).reduce(0, +) / k
                    values[prefix + "recall_macro"] = real.map(\.recall).reduce(0, +) / k
                    values[prefix + "f1_macro"] = real.map(\.f1).reduce(0, +) / k
                }
                values[prefix + "answers_not_a_label"] = Double(answersNotALabel)
            }
            return values
        }

        public var summary: String {
            var text = "\ngenerated \(rows.count) answers, exact match \(String(format: "%.4f", exactMatch))"
            if let labelMetrics {
                text += ", label accuracy \(String(format: "%.4f", labelMetrics.accuracy)) (\(answersNotALabel) answers were no label)"
            }
            return text
        }

        /// One JSON object per line: prompt, expected, generated, correct (and labels, source).
        public func writeGenerations(to url: URL) throws {
            try JSONLines.write(
                rows.lazy.map { row in
                    var record: [String: Any] = ["prompt": row.prompt, "expected": row.expected, "generated": row.generated, "correct": row.correct]
                    if let source = row.source { record["source"] = source }
                    if let label = row.expectedLabel { record["label"] = label }
                    if row.expectedLabel != nil { record["predicted_label"] = row.predictedLabel ?? NSNull() }
                    return record
                }, to: url)
        }
    }

    /// Scores `generations` against `dataset.pairs` by exact match after `normalize`; with
    /// `answerLabels` and a `completionTemplate` that renders each label, also maps each expected
    /// and generated answer to the label whose rendering it equals (after `normalize`).
    public static func score(
        generations: [String?], dataset: EncodedDataset, answerLabels: [String], completionTemplate: String?
    ) throws
        -> Scores
    {
        var rows: [Scores.Row] = []
        var rendered: [String: Int] = [:]
        if let completionTemplate {
            for (k, label) in answerLabels.enumerated() {
                rendered[normalize(SFTData.fill(completionTemplate, ["label": label]))] =
                    rendered[normalize(SFTData.fill(completionTemplate, ["label": label]))] ?? k
            }
        }
        var expectedIds: [Int] = [], predictedIds: [Int] = []
        var notALabel = 0
        let useLabels = !rendered.isEmpty
        for (i, generated) in generations.enumerated() {
            guard let generated, let expected = dataset.pairs[i] else { continue }
            var row = Scores.Row(
                prompt: dataset.texts[i], expected: expected, generated: generated,
                correct: normalize(generated) == normalize(expected),
                source: dataset.sources.isEmpty ? nil : dataset.sources[i])
            if useLabels, let e = rendered[normalize(expected)] {
                row.expectedLabel = answerLabels[e]
                expectedIds.append(e)
                if let p = rendered[normalize(generated)] {
                    row.predictedLabel = answerLabels[p]
                    predictedIds.append(p)
                } else {
                    notALabel += 1
                    predictedIds.append(answerLabels.count)  // the "no label" class
                }
            }
            rows.append(row)
        }
        var scores = Scores(rows: rows)
        if useLabels && !expectedIds.isEmpty {
            let names = answerLabels + (notALabel > 0 ? [Scores.noLabel] : [])
            var probabilities = [Float](repeating: 0, count: expectedIds.count * names.count)
            for (r, p) in predictedIds.enumerated() { probabilities[r * names.count + p] = 1 }
            scores.labelMetrics = try ClassificationMetrics.compute(
                labels: expectedIds, predictions: predictedIds, probabilities: probabilities, classNames: names)
            scores.answersNotALabel = notALabel
        }
        return scores
    }
}
