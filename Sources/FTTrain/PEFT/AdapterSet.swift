import FTCore
import FTModel
import Foundation

/// Several adapters (LoRA or bottleneck) over one base model in memory, one active at a time: the base weights
/// are loaded once, and activating an adapter copies its few tensors (A, B, its biases, its head)
/// into the model, restoring what the previous one changed.
///
/// The adapters must be of one kind and shape (`PEFTSetup.sharesModel`), carry the same kind of
/// head (`head`: a sequence classifier, a token classifier or extractive QA) and have the same
/// number of classes, since they share one model.
public final class AdapterSet {
    public let model: any SequenceModel
    /// The head every adapter carries: sequence classification (`SEQ_CLS`), token classification
    /// (`TOKEN_CLS`) or extractive QA (`QUESTION_ANS`, `qa_outputs`), as its `task_type` says.
    public let head: EncoderHead
    /// Adapter names, in the order given.
    public let names: [String]
    /// The active adapter's name.
    public private(set) var active: String
    private let adapters: [String: (adapter: PEFTAdapter, directory: URL)]
    /// Base values of the non-LoRA tensors some adapter overwrites (biases, the head), restored
    /// before another adapter is applied so none leaks into the next.
    private var baseValues: [String: [Float]] = [:]

    /// Loads the base model from `baseModelDirectory` and every adapter, then activates the first.
    /// - Throws: `ModelError` for a missing or malformed adapter, one without a classification head
    ///   (it would predict at random: PEFT's `modules_to_save` trap), or adapters that cannot share a model.
    public init(baseModelDirectory: URL, adapters list: [(name: String, directory: URL)]) throws {
        guard let first = list.first else { throw ModelError.badInput("no adapter given") }
        var adapters: [String: (adapter: PEFTAdapter, directory: URL)] = [:]
        var classes: Int?
        var head: EncoderHead?
        for (name, directory) in list {
            guard adapters[name] == nil else { throw ModelError.badInput("adapter name \(name) is given twice") }
            let adapter = try PEFTAdapter.read(directory: directory)
            let adapterHead = Self.head(of: adapter)
            guard head == nil || head == adapterHead else {
                throw ModelError.badInput(
                    "\(directory.path): a \(Self.describe(adapterHead)) adapter, but \(first.directory.path) is a \(Self.describe(head!)) adapter; adapters over one model share one kind of head"
                )
            }
            head = adapterHead
            // The head's layer: `classifier`, RoBERTa's `classifier.out_proj` (its head's last layer), or `qa_outputs`.
            let candidates = adapterHead == .questionAnswering ? [adapterHead.layerName] : ["classifier", "classifier.out_proj"]
            let layer = candidates.first { name in adapter.tensors.contains { $0.name == name + ".weight" } }
            guard let layer, let headWeight = adapter.tensors.first(where: { $0.name == layer + ".weight" }),
                adapter.tensors.contains(where: { $0.name == layer + ".bias" })
            else {
                throw ModelError.badInput(
                    "\(directory.path): the adapter has no \(Self.describe(adapterHead)) head (\(candidates[0]) in modules_to_save); its predictions would be random"
                )
            }
            let reference = adapters[first.name]?.adapter.setup ?? adapter.setup
            guard adapter.setup.sharesModel(with: reference) else {
                throw ModelError.badInput(
                    "\(directory.path): adapters over one model need the same kind and shape as \(first.directory.path) (LoRA: r, lora_alpha, use_rslora, target_modules; bottleneck: reduction_factor)"
                )
            }
            guard classes == nil || classes == headWeight.shape.first else {
                throw ModelError.badInput("\(directory.path): \(headWeight.shape.first ?? 0) classes, the first adapter has \(classes!)")
            }
            classes = headWeight.shape.first
            adapters[name] = (adapter, directory)
        }
        self.head = head ?? .sequenceClassification
        model = try ModelRegistry.load(
            modelDirectory: baseModelDirectory, numLabels: classes ?? 0, head: self.head,
            peft: adapters[first.name]!.adapter.setup)
        names = list.map(\.name)
        self.adapters = adapters
        active = first.name
        for (adapter, _) in adapters.values {
            for tensor in adapter.tensors where !PEFTModules.isAdapterTensor(tensor.name) && model.store.contains(tensor.name) {
                baseValues[tensor.name] = model.store.valueArray(tensor.name)
            }
        }
        try activate(first.name)
    }

    /// Makes `name` the adapter the model computes with.
    public func activate(_ name: String) throws {
        guard let entry = adapters[name] else {
            throw ModelError.badInput("no adapter named \(name); loaded: \(names.joined(separator: ", "))")
        }
        for (tensor, values) in baseValues { model.store.value(tensor).update(from: values, count: values.count) }
        try entry.adapter.apply(to: model, source: entry.directory.path)
        (model as? EncoderModel)?.inferenceWeightsWritten(Array(baseValues.keys) + entry.adapter.tensors.map(\.name))
        active = name
    }

    /// Label names of adapter `name`: its `labels.json`, else the base model's `id2label` when the
    /// number fits, else Hugging Face's defaults `LABEL_0`, `LABEL_1`, ...
    public func labels(of name: String, baseModelDirectory: URL) throws -> [String] {
        if head == .questionAnswering { return QuestionAnsweringTask.outputNames }
        if let directory = adapters[name]?.directory, let labels = try PEFTTraining.labels(adapterDirectory: directory) {
            guard labels.count == model.numLabels else {
                throw ModelError.badConfig(
                    directory.appendingPathComponent(PEFTTraining.labelsFile).path,
                    "\(labels.count) labels for a head of \(model.numLabels) classes")
            }
            return labels
        }
        if let labels = try? HuggingFaceExport.labels(modelDirectory: baseModelDirectory), labels.count == model.numLabels {
            return labels
        }
        return (0..<model.numLabels).map { "LABEL_\($0)" }
    }

    /// The head of an adapter: QA when it saves `qa_outputs` (whatever its `task_type`: fttrain's
    /// bottleneck adapters always say `SEQ_CLS`), else the one its `task_type` names, else sequence classification.
    static func head(of adapter: PEFTAdapter) -> EncoderHead {
        let qa = EncoderHead.questionAnswering.layerName + ".weight"
        if adapter.tensors.contains(where: { $0.name == qa }) { return .questionAnswering }
        if let task = adapter.taskType, let head = EncoderHead.allCases.first(where: { $0.peftTaskType == task }) { return head }
        return .sequenceClassification
    }

    /// "question-answering", "token-classification", "sequence-classification".
    static func describe(_ head: EncoderHead) -> String {
        switch head {
        case .sequenceClassification: return "sequence-classification"
        case .tokenClassification: return "token-classification"
        case .questionAnswering: return "question-answering"
        }
    }
}
