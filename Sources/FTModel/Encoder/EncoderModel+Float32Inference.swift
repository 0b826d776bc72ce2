import FTCore
import FTKernels
import Foundation

/// One encoder layer's four products with their float32 weights prepared for inference.
struct Float32EncoderLayer {
    /// (3A, C) query, key and value (A = C unless heads were pruned).
    let qkv: PreparedFloat32Weights
    /// (C, A), (I, C), (C, I).
    let attentionOutput: PreparedFloat32Weights
    let intermediate: PreparedFloat32Weights
    let output: PreparedFloat32Weights
}

/// Float32 inference on prepared weights (`PreparedLinear`): each layer's query/key/value,
/// attention output and feed-forward weights reordered once into oneDNN's blocked layout and cut
/// into one part per thread, so a single short text's products use every core and no product packs
/// its weight again. What `fttrain predict`, `embed`, `serve` and `bench --mode infer` run.
///
/// Only inference forwards use them: a training forward (and so every training and evaluation
/// step, whose weights change between calls) keeps `Linear`'s OpenBLAS products. The logits differ
/// from the OpenBLAS path's by float32 rounding only (`Float32InferenceTests`: within 1e-5).
/// `FTTRAIN_FLOAT32_KERNEL=openblas` keeps OpenBLAS for inference too.
extension EncoderModel {
    /// Whether inference forwards run the layers' products on prepared float32 weights.
    public var isPreparedForInference: Bool { float32Layers != nil }

    /// Prepares every layer's four product weights from the current float32 values; inference
    /// forwards use them from now on. A snapshot: call again after the weights change (or
    /// `inferenceWeightsWritten`). Does nothing on an INT8 model (its products are INT8), in
    /// bfloat16 precision, or with `FTTRAIN_FLOAT32_KERNEL=openblas`.
    public func prepareForInference() {
        guard !isQuantized, precision == .float32, Float32Kernel.fromEnvironment(default: .oneDNN) != .openBLAS else { return }
        refreshParameters()
        let C = config.hiddenSize, I = config.intermediateSize
        func prepared(_ weight: UnsafePointer<Float>, _ outputs: Int, _ inputs: Int) -> PreparedFloat32Weights? {
            PreparedFloat32Weights(weight: weight, outputs: outputs, inputs: inputs)
        }
        var layers: [Float32EncoderLayer] = []
        for (l, P) in parameters.layers.enumerated() {
            let A = config.attentionWidth(layer: l)  // C unless heads were pruned
            guard let qkv = prepared(P.qkvWeight, 3 * A, C),
                let attentionOutput = prepared(P.attentionOutput.weight.value, C, A),
                let intermediate = prepared(P.intermediate.weight.value, I, C),
                let output = prepared(P.output.weight.value, C, I)
            else {
                float32Layers = nil  // oneDNN has no f32 matmul here: OpenBLAS throughout
                return
            }
            layers.append(Float32EncoderLayer(qkv: qkv, attentionOutput: attentionOutput, intermediate: intermediate, output: output))
        }
        float32Layers = layers
    }

    /// Back to OpenBLAS products for inference.
    public func dropInferencePreparation() { float32Layers = nil }

    /// Tells the model that the store tensors `names` were overwritten (an adapter activated):
    /// prepared (and INT8) product weights made from any of them are made again.
    public func inferenceWeightsWritten<S: Sequence>(_ names: S) where S.Element == String {
        let products = Set(quantizedWeightNames)
        guard names.contains(where: { products.contains($0) }) else { return }
        if isPreparedForInference { prepareForInference() }
        if isQuantized { quantizeForInference() }
    }

    /// The float32 product of layer `l` for `ws` when prepared weights apply (an inference forward
    /// in float32), else nil.
    func preparedLayer(_ l: Int, _ ws: EncoderWorkspace) -> Float32EncoderLayer? {
        ws.training || precision != .float32 ? nil : float32Layers?[l]
    }
}
