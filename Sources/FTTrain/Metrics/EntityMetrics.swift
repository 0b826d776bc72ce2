/// An entity of a tag sequence: its type and the positions it covers (`start ... end`, inclusive,
/// as seqeval's `get_entities` reports them).
public struct TaggedEntity: Hashable, Sendable {
    public let type: String
    public let start: Int
    public let end: Int

    public init(type: String, start: Int, end: Int) {
        self.type = type
        self.start = start
        self.end = end
    }
}

/// Entity-level precision, recall and F1 per type, micro, macro and weighted, and token accuracy,
/// exactly as seqeval 1.2 computes them in its default (conlleval-like, not strict) mode:
/// entities are found by `get_entities` over the sentences joined with an `O` between them, an
/// entity counts when its type, start and end all match, a type with no prediction has precision
/// 0 (seqeval's `zero_division="warn"`), and types are the sorted union of true and predicted ones.
public struct EntityMetrics: Sendable, Equatable {
    /// Scores of one entity type (or of an average).
    public struct Scores: Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// True entities of the type (all true entities for the averages).
        public var support: Int
    }

    /// Entity types in sorted order, and their scores.
    public let types: [String]
    public let perType: [Scores]
    public let micro: Scores
    public let macro: Scores
    public let weighted: Scores
    /// Fraction of tokens whose predicted tag equals the true one (seqeval's `accuracy_score`).
    public let accuracy: Double

    /// - Precondition: `truth` and `predicted` have the same number of sentences, each of the same length.
    public init(truth: [[String]], predicted: [[String]]) {
        precondition(truth.count == predicted.count && zip(truth, predicted).allSatisfy { $0.0.count == $0.1.count })
        let trueEntities = Self.entities(inSentences: truth), predictedEntities = Self.entities(inSentences: predicted)
        types = Array(Set(trueEntities.map(\.type)).union(predictedEntities.map(\.type))).sorted()
        var scores: [Scores] = []
        var tpTotal = 0, predTotal = 0, trueTotal = 0
        for type in types {
            let t = Set(trueEntities.filter { $0.type == type }), p = Set(predictedEntities.filter { $0.type == type })
            let tp = t.intersection(p).count
            scores.append(Self.scores(tp: tp, predicted: p.count, truth: t.count))
            tpTotal += tp
            predTotal += p.count
            trueTotal += t.count
        }
        perType = scores
        micro = Self.scores(tp: tpTotal, predicted: predTotal, truth: trueTotal)
        let n = Double(max(types.count, 1))
        macro = Scores(
            precision: scores.map(\.precision).reduce(0, +) / n, recall: scores.map(\.recall).reduce(0, +) / n,
            f1: scores.map(\.f1).reduce(0, +) / n, support: trueTotal)
        let w = Double(trueTotal)
        func weightedMean(_ key: KeyPath<Scores, Double>) -> Double {
            w == 0 ? 0 : scores.reduce(0) { $0 + $1[keyPath: key] * Double($1.support) } / w
        }
        weighted = Scores(precision: weightedMean(\.precision), recall: weightedMean(\.recall), f1: weightedMean(\.f1), support: trueTotal)
        var correct = 0, total = 0
        for (t, p) in zip(truth, predicted) {
            for (a, b) in zip(t, p) where a == b { correct += 1 }
            total += t.count
        }
        accuracy = total == 0 ? 0 : Double(correct) / Double(total)
    }

    static func scores(tp: Int, predicted: Int, truth: Int) -> Scores {
        let precision = predicted == 0 ? 0 : Double(tp) / Double(predicted)
        let recall = truth == 0 ? 0 : Double(tp) / Double(truth)
        let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        return Scores(precision: precision, recall: recall, f1: f1, support: truth)
    }

    /// seqeval's `get_entities` over sentences: joined with an `O` after each, positions counted
    /// in the joined sequence.
    public static func entities(inSentences sentences: [[String]]) -> [TaggedEntity] {
        entities(in: sentences.flatMap { $0 + ["O"] })
    }

    /// seqeval's `get_entities(seq)` (prefix tags: `B-PER`; BIO, BIOES and IOB1 alike): an entity
    /// ends where `end_of_chunk` says and starts where `start_of_chunk` says.
    public static func entities(in tags: [String]) -> [TaggedEntity] {
        var result: [TaggedEntity] = []
        var previousTag: Character = "O", previousType = "", begin = 0
        for (i, chunk) in (tags + ["O"]).enumerated() {
            let tag = chunk.first ?? "O"
            // seqeval: chunk[1:].split('-', maxsplit=1)[-1] or '_'
            let rest = chunk.dropFirst()
            var type = rest.firstIndex(of: "-").map { String(rest[rest.index(after: $0)...]) } ?? String(rest)
            if type.isEmpty { type = "_" }
            if endOfChunk(previousTag, tag, previousType, type) {
                result.append(TaggedEntity(type: previousType, start: begin, end: i - 1))
            }
            if startOfChunk(previousTag, tag, previousType, type) { begin = i }
            previousTag = tag
            previousType = type
        }
        return result
    }

    static func endOfChunk(_ prevTag: Character, _ tag: Character, _ prevType: String, _ type: String) -> Bool {
        if prevTag == "E" || prevTag == "S" { return true }
        if prevTag == "B" || prevTag == "I", tag == "B" || tag == "S" || tag == "O" { return true }
        return prevTag != "O" && prevTag != "." && prevType != type
    }

    static func startOfChunk(_ prevTag: Character, _ tag: Character, _ prevType: String, _ type: String) -> Bool {
        if tag == "B" || tag == "S" { return true }
        if prevTag == "E" || prevTag == "S" || prevTag == "O", tag == "E" || tag == "I" { return true }
        return tag != "O" && tag != "." && prevType != type
    }

    /// The metrics under `prefix` (`eval_`): `precision`, `recall`, `f1` (micro, seqeval's default
    /// and what `metric_for_best_model: f1` picks), `macro_*`, `accuracy` (tokens) and
    /// `f1_<TYPE>`, `precision_<TYPE>`, `recall_<TYPE>`.
    public func dictionary(prefix: String) -> [String: Double] {
        var d: [String: Double] = [
            prefix + "precision": micro.precision, prefix + "recall": micro.recall, prefix + "f1": micro.f1,
            prefix + "macro_precision": macro.precision, prefix + "macro_recall": macro.recall, prefix + "macro_f1": macro.f1,
            prefix + "accuracy": accuracy,
        ]
        for (type, s) in zip(types, perType) {
            d[prefix + "precision_" + type] = s.precision
            d[prefix + "recall_" + type] = s.recall
            d[prefix + "f1_" + type] = s.f1
        }
        return d
    }

    /// A report in the shape of seqeval's `classification_report(digits: 4)`.
    public func report(digits: Int = 4) -> String {
        let width = max(types.map(\.count).max() ?? 0, "weighted avg".count, digits)
        func number(_ x: Double) -> String { String(format: "%.\(digits)f", x) }
        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(n - s.count, 0)) + s }
        let columns = max(digits + 5, 9)
        var lines = [pad("", width) + ["precision", "recall", "f1-score", "support"].map { pad($0, columns) }.joined(), ""]
        func row(_ name: String, _ s: Scores) -> String {
            pad(name, width) + [number(s.precision), number(s.recall), number(s.f1)].map { pad($0, columns) }.joined()
                + pad(String(s.support), columns)
        }
        for (type, s) in zip(types, perType) { lines.append(row(type, s)) }
        lines += ["", row("micro avg", micro), row("macro avg", macro), row("weighted avg", weighted), ""]
        return lines.joined(separator: "\n")
    }
}
