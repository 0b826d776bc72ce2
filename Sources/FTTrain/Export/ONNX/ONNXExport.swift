#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import FTCore
import FTModel
import Foundation
import SwiftProtobuf

/// Writes an encoder model directory (BERT, MiniLM, DistilBERT; fine-tuned or not) as an ONNX
/// file that ONNX Runtime runs, as Hugging Face's `optimum` exports it: opset 17, int64 inputs
/// `input_ids`, `attention_mask` (and `token_type_ids` where the family has token types) of
/// dynamic dimensions `batch` and `sequence`, float32 weights as initializers, and the output
/// `logits (batch, labels)` for a sequence classifier or `last_hidden_state (batch, sequence,
/// hidden)` for a bare encoder (a sentence-transformers model, a pretrained base).
///
/// The graph computes what fttrain's forward computes (`EncoderModel+Layer`): GELU in the erf
/// form (opset 17 has no `Gelu`), padding masked by adding `(1 − mask) · float.min` to the scores.
/// `scripts/onnx_check.sh` compares ONNX Runtime's outputs with fttrain's.
public enum ONNXExport {
    /// What the graph outputs, named as optimum's `--task`.
    public enum Task: String, CaseIterable, Sendable {
        /// `logits`: the sequence-classification head (a fine-tuned classifier).
        case textClassification = "text-classification"
        /// `last_hidden_state`: the encoder without a head.
        case featureExtraction = "feature-extraction"
        /// `logits (batch, sequence, labels)`: a token classifier (`*ForTokenClassification`).
        case tokenClassification = "token-classification"
        /// `start_logits`, `end_logits (batch, sequence)`: extractive QA (`*ForQuestionAnswering`).
        case questionAnswering = "question-answering"

        /// The model head this task exports (nil: none).
        public var head: EncoderHead? {
            switch self {
            case .textClassification: return .sequenceClassification
            case .featureExtraction: return nil
            case .tokenClassification: return .tokenClassification
            case .questionAnswering: return .questionAnswering
            }
        }
    }

    /// The opset the files declare.
    public static var opsetVersion: Int { Int(ONNXGraphBuilder.opsetVersion) }

    /// The exporter of each encoder family; a family without one cannot be exported.
    static var architectures: [any ONNXEncoderArchitecture.Type] { [ONNXBertArchitecture.self, ONNXDistilBertArchitecture.self] }

    /// The families with an exporter (`bert, distilbert`), for messages.
    public static var supportedFamilies: String { architectures.map { $0.family.name }.joined(separator: ", ") }

    /// What an export wrote.
    public struct Summary: Sendable, Equatable {
        public let task: Task
        public let family: String
        public let bytes: Int
    }

    /// Exports the model of `modelDirectory` to `url`, staged beside it and renamed into place
    /// (nothing is left at `url` when it fails).
    /// - Parameter task: nil picks `text-classification` when `config.json` has `id2label` and
    ///   the weights hold the classifier, else `feature-extraction`.
    /// - Throws: `ONNXExportError` naming the directory or file: a model kind without an
    ///   exporter (a Llama, an unknown family), a classifier asked of a model without a head, an
    ///   unwritable output; `ModelError` for a bad model directory.
    @discardableResult
    public static func write(modelDirectory: URL, task requested: Task? = nil, to url: URL, producerVersion: String = "dev") throws -> Summary {
        try checkWritable(url)
        let directory = modelDirectory.path
        if modelDirectory.pathExtension.lowercased() == "gguf" {
            throw ONNXExportError.noExporter(directory, kind: "a GGUF causal language model")
        }
        let configPath = modelDirectory.appendingPathComponent("config.json").path
        let json = try ModelRegistry.readConfigJSON(path: configPath)
        if ModelRegistry.isLlama(json) { throw ONNXExportError.noExporter(directory, kind: "llama (a causal language model)") }
        let family: EncoderFamily
        do {
            family = try ModelRegistry.encoderFamily(of: json)
        } catch {
            let kind = (json.object["model_type"] as? String) ?? (json.object["architectures"] as? [String])?.first ?? "unknown"
            throw ONNXExportError.noExporter(directory, kind: kind)
        }
        guard let architecture = architectures.first(where: { $0.family == family }) else {
            throw ONNXExportError.noExporter(directory, kind: family.name)
        }
        let labels = try HuggingFaceExport.labels(modelDirectory: modelDirectory)
        let hasHead = try hasClassifier(modelDirectory: modelDirectory, family: family)
        // The head `architectures` names: a token classifier or a QA model exports its per-token head.
        let modelHead = EncoderHead.named(byArchitectures: json.object["architectures"] as? [String])
        let task = requested ?? defaultTask(labels: labels, hasClassifier: hasHead, head: modelHead)
        if let head = task.head, head != modelHead, labels?.isEmpty == false {
            throw ONNXExportError.wrongHead(directory, task: task.rawValue, architecture: (json.object["architectures"] as? [String])?.first ?? "?")
        }
        if task == .questionAnswering {
            guard try hasTensor(modelDirectory: modelDirectory, family: family, EncoderHead.questionAnswering.layerName + ".weight") else {
                throw ONNXExportError.noClassifier(directory, reason: "model.safetensors has no qa_outputs.weight")
            }
        } else if task != .featureExtraction {
            guard let labels, !labels.isEmpty else { throw ONNXExportError.noClassifier(directory, reason: "config.json has no id2label") }
            guard hasHead else {
                throw ONNXExportError.noClassifier(directory, reason: "model.safetensors has no \(family.names.classifier).weight")
            }
        }
        let numLabels = task == .questionAnswering ? 2 : task == .featureExtraction ? 0 : labels!.count
        let model = try EncoderModel.load(modelDirectory: modelDirectory, numLabels: numLabels, head: task.head ?? .sequenceClassification)
        let output: ONNXEncoderGraph.Output
        switch task {
        case .textClassification: output = .logits
        case .featureExtraction: output = .lastHiddenState
        case .tokenClassification: output = .tokenLogits
        case .questionAnswering: output = .spanLogits
        }
        let graph = ONNXEncoderGraph.build(model: model, architecture: architecture, output: output)
        let proto = graph.model(
            producerVersion: producerVersion,
            docString: "\(family.name) \(task.rawValue) exported by fttrain from \(modelDirectory.lastPathComponent)")
        let data: Data
        do {
            data = try proto.serializedData()
        } catch {
            throw ONNXExportError.serialization(url.path, reason: "\(error) (protobuf files are limited to 2 GiB)")
        }
        try stageAndRename(data, to: url)
        return Summary(task: task, family: family.name, bytes: data.count)
    }

    /// The task an export picks when none is asked: `text-classification` when `config.json` has
    /// `id2label` and the weights hold the classifier, else `feature-extraction`.
    public static func defaultTask(modelDirectory: URL) throws -> Task {
        let json = try ModelRegistry.readConfigJSON(path: modelDirectory.appendingPathComponent("config.json").path)
        let family = try ModelRegistry.encoderFamily(of: json)
        return defaultTask(
            labels: try HuggingFaceExport.labels(modelDirectory: modelDirectory),
            hasClassifier: try hasClassifier(modelDirectory: modelDirectory, family: family),
            head: EncoderHead.named(byArchitectures: json.object["architectures"] as? [String]))
    }

    /// A QA model (`architectures` `*ForQuestionAnswering`): `question-answering`; else with
    /// `id2label` and the classifier's weights, `token-classification` for `*ForTokenClassification`
    /// and `text-classification` otherwise; else `feature-extraction`.
    static func defaultTask(labels: [String]?, hasClassifier: Bool, head: EncoderHead = .sequenceClassification) -> Task {
        if head == .questionAnswering { return .questionAnswering }
        guard labels.map({ !$0.isEmpty }) == true && hasClassifier else { return .featureExtraction }
        return head == .tokenClassification ? .tokenClassification : .textClassification
    }

    /// Whether the weights hold the classification layer (with or without the base prefix).
    static func hasClassifier(modelDirectory: URL, family: EncoderFamily) throws -> Bool {
        let path = modelDirectory.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.missingFile(path) }
        let file = try SafeTensorsFile(path: path)
        let name = family.names.classifier + ".weight"
        return file.info(name) != nil || file.info(family.names.basePrefix + name) != nil
    }

    /// Whether the weights hold tensor `name` (with or without the base prefix).
    static func hasTensor(modelDirectory: URL, family: EncoderFamily, _ name: String) throws -> Bool {
        let file = try SafeTensorsFile(path: modelDirectory.appendingPathComponent("model.safetensors").path)
        return file.info(name) != nil || file.info(family.names.basePrefix + name) != nil
    }

    /// Fails before any work when the output's directory is missing or not writable, or the
    /// output is a directory.
    static func checkWritable(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ONNXExportError.unwritable(url.path, reason: "it is a directory")
        }
        let parent = url.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ONNXExportError.unwritable(url.path, reason: "no such directory \(parent)")
        }
        guard access(parent, W_OK) == 0 else { throw ONNXExportError.unwritable(url.path, reason: "directory \(parent) is not writable") }
    }

    /// Writes `data` to a temporary file beside `url`, fsyncs it and renames it over `url`.
    static func stageAndRename(_ data: Data, to url: URL) throws {
        let tag = String(UInt64.random(in: .min ... .max), radix: 16)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(tag)")
        do {
            try DurableFile.save(data, to: temporary)
        } catch {
            unlink(temporary.path)
            throw ONNXExportError.unwritable(url.path, reason: "\(error)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw ONNXExportError.unwritable(url.path, reason: "cannot rename the staged file into place: \(reason)")
        }
        try? DurableFile.sync(url.deletingLastPathComponent(), isDirectory: true)
    }
}

/// Why an ONNX export failed; each message names the directory or file.
public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
    /// The model is of a kind no ONNX exporter writes.
    case noExporter(String, kind: String)
    /// `text-classification` was asked of a model without a classifier.
    case noClassifier(String, reason: String)
    /// The output cannot be written.
    case unwritable(String, reason: String)
    /// The model does not fit a protobuf message.
    case serialization(String, reason: String)
    /// A head task asked of a model whose `architectures` names another head.
    case wrongHead(String, task: String, architecture: String)

    public var description: String {
        switch self {
        case .noExporter(let path, let kind):
            return "\(path): \(kind) has no ONNX exporter (supported: encoder families \(ONNXExport.supportedFamilies))"
        case .noClassifier(let path, let reason):
            return "\(path): not a sequence classifier (\(reason)); export it with --task feature-extraction"
        case .unwritable(let path, let reason):
            return "\(path): cannot write the ONNX file: \(reason)"
        case .serialization(let path, let reason):
            return "\(path): cannot serialise the ONNX model: \(reason)"
        case .wrongHead(let path, let task, let architecture):
            let fitting =
                ONNXExport.Task.allCases.first { $0.head == EncoderHead.named(byArchitectures: [architecture]) }?.rawValue ?? "feature-extraction"
            return "\(path): --task \(task) does not fit \(architecture); export it with --task \(fitting) (or feature-extraction)"
        }
    }
}
