import FTCore
import Foundation

/// One encoder layer's four products quantised for INT8 inference.
struct Int8EncoderLayer {
    /// (3C, C) query, key and value.
    let qkv: Int8Weights
    /// (C, C), (I, C), (C, I).
    let attentionOutput: Int8Weights
    let intermediate: Int8Weights
    let output: Int8Weights
}

/// Dynamic INT8 inference (PyTorch's `quantize_dynamic` on `nn.Linear`): every layer's query/key/
/// value, attention output and feed-forward products run `Int8Linear` (int8 weights per output
/// channel, activations quantised per row at run time); embeddings, layer norms, softmax, biases,
/// the pooler and the classifier stay float32. Training forwards always run float32.
///
/// A quantised model directory (`fttrain quantize`) holds each of those weights as
/// `<name>.weight_int8` (I8, (out, in)) and `<name>.weight_scale` (F32, (out)) and marks
/// `config.json` with `fttrain_quantization`; `EncoderModel.load(modelDirectory:)` de-quantises
/// them into the float32 store and quantises again, which gives back the file's integers exactly.
extension EncoderModel {
    /// The `config.json` key that marks a quantised model directory.
    public static let quantizationKey = "fttrain_quantization"
    /// Its value (`method`) for dynamic INT8.
    public static let dynamicInt8Method = "dynamic_int8"
    /// Suffixes of a quantised weight's two tensors in a quantised model file.
    public static let int8Suffix = "_int8", scaleSuffix = "_scale"

    /// Whether inference runs the layers' products in INT8.
    public var isQuantized: Bool { int8Layers != nil }

    /// Quantises every layer's four products from the current float32 weights; inference forwards
    /// use them from now on. A snapshot: call again after the float32 weights change.
    public func quantizeForInference() {
        refreshParameters()
        let C = config.hiddenSize, I = config.intermediateSize
        int8Layers = parameters.layers.map { P in
            Int8EncoderLayer(
                qkv: Int8Weights(weight: P.qkvWeight, outputs: 3 * C, inputs: C),
                attentionOutput: Int8Weights(weight: P.attentionOutput.weight.value, outputs: C, inputs: C),
                intermediate: Int8Weights(weight: P.intermediate.weight.value, outputs: I, inputs: C),
                output: Int8Weights(weight: P.output.weight.value, outputs: C, inputs: I))
        }
    }

    /// Back to float32 products.
    public func dropQuantization() { int8Layers = nil }

    /// Store names of the weights INT8 inference quantises (each layer's query, key, value,
    /// attention output, intermediate and output `.weight`).
    public var quantizedWeightNames: [String] {
        let names = config.family.names
        return (0..<config.numHiddenLayers).flatMap { l in names.layerModules.map { names.layer(l) + $0 + ".weight" } }
    }

    /// Whether the `config.json` at `configPath` marks a dynamically quantised INT8 model.
    /// - Throws: when the marker is there but names a method fttrain does not know.
    static func quantizationMarker(configPath: String) throws -> Bool {
        guard let data = FileManager.default.contents(atPath: configPath),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let marker = object[quantizationKey]
        else { return false }
        guard let entry = marker as? [String: Any], let method = entry["method"] as? String, method == dynamicInt8Method else {
            throw ModelError.badConfig(configPath, "\(quantizationKey) must be {\"method\": \"\(dynamicInt8Method)\", …}, found \(marker)")
        }
        return true
    }
}
