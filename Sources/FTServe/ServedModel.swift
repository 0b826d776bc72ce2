import FTCore
import FTModel
import FTTrain
import Foundation

/// The weights one compute pass runs on: a model loaded alone, or the shared base model of an
/// `AdapterSet` (several served adapters, one active at a time). Touched only by the compute thread
/// once serving has begun.
final class ComputeBackend: @unchecked Sendable {
    let model: any SequenceModel
    let adapterSet: AdapterSet?
    /// A stable key for batching: a batch never mixes backends.
    let id: Int

    init(model: any SequenceModel, adapterSet: AdapterSet?, id: Int) {
        self.model = model
        self.adapterSet = adapterSet
        self.id = id
    }
}

/// An encoder served under a name: a fine-tuned classifier, a token classifier (entities) or a bare encoder (embedder), or an adapter
/// over a served base (causal LMs are `ServedGenerator`s); with its tokenizer, labels, token limit and `lineage.json`.
public final class ServedModel: @unchecked Sendable {
    /// What the model answers: `classifier` (labels: predict, embed, tokenize), `token_classifier`
    /// (`*ForTokenClassification`, tag labels: predict answers entities; embed, tokenize) or `embedder` (embed, tokenize).
    public enum Kind: String, Sendable {
        case classifier
        case tokenClassifier = "token_classifier"
        /// `*ForQuestionAnswering`: predict answers (question, context) pairs with answer spans.
        case questionAnswerer = "question_answerer"
        case embedder
    }

    public let name: String
    public let kind: Kind
    /// Label names in class order (empty for an embedder).
    public let labels: [String]
    /// Tokens per text incl. [CLS]/[SEP]; longer texts are truncated or refused.
    public let maxLength: Int
    public let tokenizer: any EncoderTokenizer
    /// The served base model's name, for an adapter.
    public let base: String?
    /// The model (or adapter) directory.
    public let directory: URL
    /// `DIR/lineage.json` as JSON text, when the file exists.
    public let lineageJSON: String?
    let backend: ComputeBackend
    /// The adapter to activate before computing, for an adapter.
    let adapterName: String?
    /// Multi-label or regression (`problem_type` in `config.json`); nil for a single-label classifier.
    let problemType: ProblemType?
    /// Multi-label: each label's threshold, from the directory's `thresholds.json` (else 0.5).
    let thresholds: [Double]

    init(
        name: String, kind: Kind, labels: [String], maxLength: Int, tokenizer: any EncoderTokenizer, base: String?,
        directory: URL, lineageJSON: String?, backend: ComputeBackend, adapterName: String?
    ) throws {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.maxLength = maxLength
        self.tokenizer = tokenizer
        self.base = base
        self.directory = directory
        self.lineageJSON = lineageJSON
        self.backend = backend
        self.adapterName = adapterName
        problemType = Self.servedProblemType(kind: kind, directory: directory, adapterName: adapterName)
        thresholds =
            problemType == .multiLabelClassification
            ? try LabelThresholds.forPrediction(modelDirectory: directory, labels: labels, threshold: nil, overrides: nil)
            : [Double](repeating: 0.5, count: labels.count)
    }

    /// Loads every model and adapter of `configuration`, in order (adapters share one base model in
    /// memory per base, as `fttrain predict --adapter` does).
    /// - Throws: `ServeSetupError` or the loaders' errors, naming the directory and the problem.
    public static func loadAll(_ configuration: ServeConfiguration) throws -> [ServedModel] {
        var served: [ServedModel] = []
        var nextId = 0
        for spec in configuration.models where !ServedGenerator.isCausal(spec) {
            let directory = URL(fileURLWithPath: spec.directory, isDirectory: true)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: spec.directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ServeSetupError("--model \(spec.name)=\(spec.directory): no such directory")
            }
            let labels = try HuggingFaceExport.labels(modelDirectory: directory) ?? []
            let tokenizer = try EncoderTokenizers.load(modelDirectory: directory)
            let model = try ModelRegistry.load(modelDirectory: directory, numLabels: labels.count)
            (model as? EncoderModel)?.prepareForInference()
            let ownLimit = labels.isEmpty ? sentenceTransformersMaxLength(directory) : nil
            // The head config.json's `architectures` names, as `fttrain predict` tells them apart.
            let kind: Kind =
                labels.isEmpty
                ? .embedder
                : AnswerPrediction.isQuestionAnswering(model)
                    ? .questionAnswerer : model.architectureName.hasSuffix("ForTokenClassification") ? .tokenClassifier : .classifier
            served.append(
                try ServedModel(
                    name: spec.name, kind: kind, labels: labels,
                    maxLength: min(configuration.maxLength ?? ownLimit ?? model.maxSequenceLength, model.maxSequenceLength),
                    tokenizer: tokenizer, base: nil, directory: directory, lineageJSON: try lineage(directory),
                    backend: ComputeBackend(model: model, adapterSet: nil, id: nextId), adapterName: nil))
            nextId += 1
        }
        // One AdapterSet per base, holding all of that base's adapters.
        var bases: [String] = []
        for adapter in configuration.adapters where !bases.contains(adapter.base) { bases.append(adapter.base) }
        for base in bases {
            guard let baseSpec = configuration.models.first(where: { $0.name == base }) else {
                throw ServeSetupError("adapters over \(base): no served --model of that name")
            }
            if ServedGenerator.isCausal(baseSpec) { continue }  // ServedGenerator loads those
            let baseDirectory = URL(fileURLWithPath: baseSpec.directory, isDirectory: true)
            let specs = configuration.adapters.filter { $0.base == base }
            for spec in specs {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: spec.directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw ServeSetupError("--adapter \(spec.name)=\(spec.base):\(spec.directory): no such directory")
                }
            }
            let set = try AdapterSet(
                baseModelDirectory: baseDirectory,
                adapters: specs.map { ($0.name, URL(fileURLWithPath: $0.directory, isDirectory: true)) })
            (set.model as? EncoderModel)?.prepareForInference()
            let backend = ComputeBackend(model: set.model, adapterSet: set, id: nextId)
            nextId += 1
            let tokenizer = try EncoderTokenizers.load(modelDirectory: baseDirectory)
            // QUESTION_ANS and TOKEN_CLS adapters answer as a QA model or a token classifier served with --model.
            let kind: Kind =
                set.head == .questionAnswering ? .questionAnswerer : set.head == .tokenClassification ? .tokenClassifier : .classifier
            for spec in specs {
                let directory = URL(fileURLWithPath: spec.directory, isDirectory: true)
                served.append(
                    try ServedModel(
                        name: spec.name, kind: kind, labels: try set.labels(of: spec.name, baseModelDirectory: baseDirectory),
                        maxLength: min(configuration.maxLength ?? set.model.maxSequenceLength, set.model.maxSequenceLength),
                        tokenizer: tokenizer, base: base, directory: directory, lineageJSON: try lineage(directory),
                        backend: backend, adapterName: spec.name))
            }
        }
        return served
    }

    /// Tokenizes a text (or pair) with this model's limit: truncated when `truncate`, else refused
    /// when longer. `field` names the input in the error (`inputs[3]`). A token classifier's text is
    /// tokenized word by word, as `EntityPrediction` does (no pairs).
    func encode(_ text: String, pair: String?, truncate: Bool, field: String) throws -> TokenizerEncoding {
        if kind == .tokenClassifier {
            guard pair == nil else { throw ServeError.validation("\(field): model \(name) is a token classifier: it takes single texts, not pairs") }
            let words = tokenizer.wordSpans(of: text).map(\.text)
            if truncate { return tokenizer.encodeWords(words, maxLength: maxLength).encoding }
            let encoding = tokenizer.encodeWords(words, maxLength: nil).encoding
            guard encoding.inputIds.count <= maxLength else {
                throw ServeError.validation(
                    "\(field): \(encoding.inputIds.count) tokens, more than max_length \(maxLength) of model \(name) (truncation is off)")
            }
            return encoding
        }
        if truncate { return tokenizer.encode(text, pair: pair, maxLength: maxLength) }
        let encoding = tokenizer.encode(text, pair: pair, maxLength: nil)
        guard encoding.inputIds.count <= maxLength else {
            throw ServeError.validation(
                "\(field): \(encoding.inputIds.count) tokens, more than max_length \(maxLength) of model \(name) (truncation is off)")
        }
        return encoding
    }

    // MARK: - Compute (the compute thread only)

    private func activate() throws {
        if let adapterName, let set = backend.adapterSet, set.active != adapterName { try set.activate(adapterName) }
    }

    /// Class probabilities (one row of `labels.count` per encoding, in order), through
    /// `Predictions.compute` as `fttrain predict` runs it: one forward over the rows sorted by length.
    func classify(_ encodings: [TokenizerEncoding]) throws -> [[Float]] {
        try activate()
        if let problemType { return try headRows(encodings, problemType: problemType) }
        let dataset = EncodedDataset(
            encodings: encodings, labels: [Int32](repeating: 0, count: encodings.count),
            texts: [String](repeating: "", count: encodings.count), pairs: [String?](repeating: nil, count: encodings.count))
        let predictions = try Predictions.compute(
            model: backend.model, dataset: dataset, batchSize: max(encodings.count, 1), padTokenId: tokenizer.padTokenId)
        return (0..<encodings.count).map { Array(predictions.row($0)) }
    }

    /// The entities of each text (in order), through `EntityPrediction` as `fttrain predict` finds
    /// them on a token classifier: one forward over all the texts, cut at `maxLength` tokens.
    func entities(_ texts: [String]) throws -> [[PredictedEntity]] {
        try activate()
        return try EntityPrediction.predict(
            texts: texts, model: backend.model, tokenizer: tokenizer, labels: labels, maxLength: maxLength, batchSize: max(texts.count, 1))
    }

    /// The answer of each (question, context) pair (in order), through `AnswerPrediction` as
    /// `fttrain predict` answers them (its default doc stride): every window of every pair in batches.
    func answers(_ pairs: [(question: String, context: String)]) throws -> [PredictedAnswer] {
        try activate()
        return try AnswerPrediction.answer(
            pairs: pairs, model: backend.model, tokenizer: tokenizer, maxLength: maxLength,
            docStride: min(128, maxLength / 3),  // `fttrain predict`'s default: a stride a short max_length still holds
            batchSize: max(pairs.count, 1))
    }

    /// Sentence embeddings (one row per encoding, in order), as `fttrain embed` computes them: one
    /// forward over the padded rows, each row pooled with its own settings.
    func embed(_ encodings: [TokenizerEncoding], pooling: [(SentencePooling, Bool)]) throws -> [[Float]] {
        try activate()
        let batch = tokenizer.padBatch(encodings)
        let B = encodings.count, T = batch.sequenceLength, C = backend.model.hiddenSize
        let outputs = try backend.model.forward(
            inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask,
            batch: B, sequence: T, training: false, dropoutSeed: 0, firstTokenOnly: false)
        var row = [Float](repeating: 0, count: C)  // (C)
        return (0..<B).map { b in
            batch.attentionMask.withUnsafeBufferPointer { mask in
                row.withUnsafeMutableBufferPointer { out in
                    pooling[b].0.pool(
                        output: out.baseAddress!, lastHidden: outputs.lastHiddenState + b * T * C,
                        attentionMask: mask.baseAddress! + b * T, batch: 1, sequence: T, channels: C, normalize: pooling[b].1)
                }
            }
            return row
        }
    }

    // MARK: - Files

    /// `max_seq_length` of sentence-transformers' `sentence_bert_config.json`, as `fttrain embed` reads it.
    private static func sentenceTransformersMaxLength(_ directory: URL) -> Int? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("sentence_bert_config.json")),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["max_seq_length"] as? Int
    }

    /// `DIR/lineage.json` as compact JSON text, nil when absent.
    /// - Throws: `ServeSetupError` when the file exists but is not JSON.
    static func lineage(_ directory: URL) throws -> String? {
        let url = directory.appendingPathComponent("lineage.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let compact = try? JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed, .sortedKeys])
        else { throw ServeSetupError("\(url.path): not valid JSON") }
        return String(decoding: compact, as: UTF8.self)
    }
}
