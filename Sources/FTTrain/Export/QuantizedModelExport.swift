import FTCore
import FTModel
import Foundation

/// Writes a dynamically quantised INT8 model directory (`fttrain quantize`): the source
/// `config.json` with `"fttrain_quantization": {"method": "dynamic_int8", …}` added,
/// `model.safetensors` with each layer's query, key, value, attention output, intermediate and
/// output weight as `<name>.weight_int8` (I8, (out, in)) and `<name>.weight_scale` (F32, (out)),
/// every other tensor (embeddings, layer norms, biases, pooler, classifier) float32 under its usual
/// name, and the tokenizer files. `EncoderModel.load(modelDirectory:)` (so `predict`, `embed`,
/// `bench`) loads it and infers in INT8. Staged and renamed into place.
public enum QuantizedModelExport {
    /// The marker's value in `config.json`.
    static var marker: [String: Any] {
        [
            "method": EncoderModel.dynamicInt8Method,
            "weights": "int8, symmetric, per output channel",
            "activations": "uint8 with a zero point, per row, at run time",
            "modules": ["query", "key", "value", "attention output", "intermediate", "output"],
        ]
    }

    public static func write(model: EncoderModel, sourceDirectory: URL, to destination: URL) throws {
        let fileManager = FileManager.default
        let quantized = Set(model.quantizedWeightNames)
        try StagedDirectory.write(destination) { staged in
            let configPath = sourceDirectory.appendingPathComponent("config.json").path
            guard let data = fileManager.contents(atPath: configPath),
                var object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { throw ModelError.badConfig(configPath, "cannot read the source model's config.json") }
            object[EncoderModel.quantizationKey] = marker
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                .write(to: staged.file("config.json"))

            var writer = SafeTensorsWriter(metadata: ["format": "pt", "fttrain_quantization": EncoderModel.dynamicInt8Method])
            for view in model.store.views where !PEFTModules.isAdapterTensor(view.name) {
                let name = model.tensorNames.checkpointName(view.name)
                if quantized.contains(view.name) {
                    let (values, scales) = Int8Weights.quantize(model.store.value(view.name), outputs: view.shape[0], inputs: view.shape[1])
                    try writer.add(
                        name + EncoderModel.int8Suffix, shape: view.shape,
                        rawBytes: values.map { UInt8(bitPattern: $0) }, dtype: .I8)
                    try writer.add(name + EncoderModel.scaleSuffix, shape: [view.shape[0]], floats: scales)
                } else {
                    try writer.add(name, shape: view.shape, floats: UnsafeBufferPointer(start: model.store.value(view.name), count: view.count))
                }
            }
            try writer.write(toPath: staged.file("model.safetensors").path)
            for file in HuggingFaceExport.tokenizerFiles {
                let source = sourceDirectory.appendingPathComponent(file)
                if fileManager.fileExists(atPath: source.path) { try fileManager.copyItem(at: source, to: staged.file(file)) }
            }
        }
    }
}

/// How far an INT8 model's predictions are from the float32 model's on a labelled set.
public struct QuantizationComparison: Sendable {
    public let examples: Int
    public let float32: ClassificationMetrics
    public let int8: ClassificationMetrics
    /// Share of examples where both models predict the same class.
    public let agreement: Double
    /// Largest |p_int8 − p_float32| over every example and class.
    public let largestProbabilityChange: Double

    public init(labels: [Int], classNames: [String], float32 f: Predictions, int8 q: Predictions) throws {
        examples = labels.count
        float32 = try ClassificationMetrics.compute(
            labels: labels, predictions: f.predictedClasses, probabilities: f.probabilities, classNames: classNames)
        int8 = try ClassificationMetrics.compute(
            labels: labels, predictions: q.predictedClasses, probabilities: q.probabilities, classNames: classNames)
        let same = zip(f.predictedClasses, q.predictedClasses).filter { $0 == $1 }.count
        agreement = labels.isEmpty ? 1 : Double(same) / Double(labels.count)
        largestProbabilityChange = zip(f.probabilities, q.probabilities).map { Double(abs($0 - $1)) }.max() ?? 0
    }

    /// The figures as a JSON object.
    public var dictionary: [String: Any] {
        [
            "examples": examples,
            "float32": ["accuracy": float32.accuracy, "macro_f1": float32.macroAverage.f1],
            "int8": ["accuracy": int8.accuracy, "macro_f1": int8.macroAverage.f1],
            "accuracy_delta": int8.accuracy - float32.accuracy,
            "macro_f1_delta": int8.macroAverage.f1 - float32.macroAverage.f1,
            "agreement": agreement,
            "largest_probability_change": largestProbabilityChange,
        ]
    }

    /// A few lines for a terminal.
    public var summary: String {
        func pct(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
        return """
            \(examples) labelled examples
              float32: accuracy \(pct(float32.accuracy)), macro-F1 \(pct(float32.macroAverage.f1))
              int8:    accuracy \(pct(int8.accuracy)), macro-F1 \(pct(int8.macroAverage.f1))
              accuracy delta \(String(format: "%+.2f", 100 * (int8.accuracy - float32.accuracy))) points, \
            agreement \(pct(agreement)), largest probability change \(String(format: "%.4f", largestProbabilityChange))
            """
    }
}
