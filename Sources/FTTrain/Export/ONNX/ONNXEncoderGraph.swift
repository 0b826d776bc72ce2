import FTCore
import FTModel

/// One encoder architecture's part of an ONNX export: its graph inputs (named as Hugging Face's
/// `optimum` names them), its embeddings and its head's activation. The layers of the BERT shape
/// (post-LayerNorm self-attention and feed-forward) are shared: `ONNXEncoderGraph.layer`.
/// One type per family (`ONNXBertArchitecture`, `ONNXDistilBertArchitecture`).
protocol ONNXEncoderArchitecture {
    /// The family this exporter writes.
    static var family: EncoderFamily { get }
    /// The int64 `(batch, sequence)` graph inputs, in optimum's order; `attention_mask` is one.
    static var inputNames: [String] { get }
    /// The ONNX operator of the activation after the pooler's dense layer (`Tanh`, `Relu`).
    static var poolerActivation: String { get }
    /// Adds the embeddings (through their LayerNorm) and returns the `(B, T, C)` hidden state.
    static func embeddings(_ graph: inout ONNXGraphBuilder, model: EncoderModel) -> String
}

/// The graph of an `EncoderModel` whatever its family: embeddings (the architecture's), every
/// layer, and the head or none.
enum ONNXEncoderGraph {
    /// What the exported graph outputs.
    enum Output: Equatable {
        /// `logits (batch, numLabels)`: the sequence-classification head on the first token.
        case logits
        /// `last_hidden_state (batch, sequence, hidden)`: the bare encoder's output.
        case lastHiddenState
        /// `logits (batch, sequence, numLabels)`: the token-classification head on every token (no pooler).
        case tokenLogits
        /// `start_logits`, `end_logits (batch, sequence)`: `qa_outputs` on every token, split (no pooler).
        case spanLogits
    }

    /// Builds the whole graph of `model` under `architecture`.
    static func build(model: EncoderModel, architecture: any ONNXEncoderArchitecture.Type, output: Output) -> ONNXGraphBuilder {
        var graph = ONNXGraphBuilder(name: "fttrain_\(model.family.name)")
        for name in architecture.inputNames {
            graph.addInput(name, type: .int64, dimensions: [.parameter("batch"), .parameter("sequence")])
        }
        let config = model.config
        var hidden = architecture.embeddings(&graph, model: model)
        let mask = additiveMask(&graph)
        for l in 0..<config.numHiddenLayers {
            hidden = layer(&graph, l, input: hidden, mask: mask, model: model)
        }
        let C = config.hiddenSize
        switch output {
        case .lastHiddenState:
            graph.add("Identity", [hidden], output: "last_hidden_state")
            graph.addOutput("last_hidden_state", type: .float, dimensions: [.parameter("batch"), .parameter("sequence"), .value(C)])
        case .logits:
            let names = config.family.names, store = model.store, L = model.numLabels
            // The first token's hidden state (B, C), then the pooler and the classifier.
            let first = graph.add("Gather", [hidden, graph.constant(int64: [0], shape: [])], attributes: [.int("axis", 1)])
            let dense = graph.linear(
                first, name: names.pooler, weight: store.value(names.pooler + ".weight"), bias: store.value(names.pooler + ".bias"),
                outputs: C, inputs: C)
            let pooled = graph.add(architecture.poolerActivation, [dense])
            let w = graph.addTransposedInitializer(
                names.classifier + ".weight", rows: L, columns: C, values: store.value(names.classifier + ".weight"))
            let b = graph.addInitializer(
                names.classifier + ".bias", shape: [L], values: UnsafeBufferPointer(start: store.value(names.classifier + ".bias"), count: L))
            graph.add("Add", [graph.add("MatMul", [pooled, w]), b], output: "logits")
            graph.addOutput("logits", type: .float, dimensions: [.parameter("batch"), .value(L)])
        case .tokenLogits:
            let name = config.family.names.classifier, L = model.numLabels
            let logits = graph.linear(
                hidden, name: name, weight: model.store.value(name + ".weight"), bias: model.store.value(name + ".bias"), outputs: L, inputs: C)
            graph.add("Identity", [logits], output: "logits")  // (B, T, L)
            graph.addOutput("logits", type: .float, dimensions: [.parameter("batch"), .parameter("sequence"), .value(L)])
        case .spanLogits:
            let name = EncoderHead.questionAnswering.layerName
            let logits = graph.linear(
                hidden, name: name, weight: model.store.value(name + ".weight"), bias: model.store.value(name + ".bias"), outputs: 2, inputs: C)
            // (B, T, 2): channel 0 the start logits, 1 the end logits (transformers' `logits.split(1, dim=-1)`).
            for (k, output) in ["start_logits", "end_logits"].enumerated() {
                graph.add("Gather", [logits, graph.constant(int64: [Int64(k)], shape: [])], attributes: [.int("axis", 2)], output: output)
                graph.addOutput(output, type: .float, dimensions: [.parameter("batch"), .parameter("sequence")])
            }
        }
        return graph
    }

    /// `(1 − mask) · float.min` as `(B, 1, 1, T)`, added to every head's scores: padded keys get
    /// probability 0 after the softmax, as in transformers (`get_extended_attention_mask`).
    static func additiveMask(_ graph: inout ONNXGraphBuilder) -> String {
        let mask = graph.add("Cast", ["attention_mask"], attributes: [.int("to", Int64(Onnx_TensorProto.DataType.float.rawValue))])
        let inverted = graph.add("Sub", [graph.constant([1]), mask])
        let additive = graph.add("Mul", [inverted, graph.constant([-Float.greatestFiniteMagnitude])])
        return graph.add("Unsqueeze", [additive, graph.constant(int64: [1, 2], shape: [2])])
    }

    /// Layer `l` on `input (B, T, C)`: self-attention over the layer's heads (fewer when pruned),
    /// residual, LayerNorm, GELU feed-forward, residual, LayerNorm — `EncoderModel+Layer`'s forward.
    static func layer(_ graph: inout ONNXGraphBuilder, _ l: Int, input x: String, mask: String, model: EncoderModel) -> String {
        let config = model.config, names = config.family.names, m = names.layerModules, store = model.store
        let C = config.hiddenSize, I = config.intermediateSize, d = config.headSize
        let H = config.heads(layer: l), A = config.attentionWidth(layer: l)
        let p = names.layer(l)
        func linear(_ input: String, _ module: String, outputs: Int, inputs: Int) -> String {
            graph.linear(
                input, name: p + module, weight: store.value(p + module + ".weight"), bias: store.value(p + module + ".bias"),
                outputs: outputs, inputs: inputs)
        }
        func norm(_ input: String, _ module: String) -> String {
            graph.layerNorm(
                input, name: p + module, weight: store.value(p + module + ".weight"), bias: store.value(p + module + ".bias"),
                channels: C, epsilon: config.layerNormEps)
        }
        // (B, T, A) → (B, T, H, d) → heads first.
        let headShape = graph.constant(int64: [0, 0, Int64(H), Int64(d)], shape: [4])
        func heads(_ projection: String, permutation: [Int64]) -> String {
            graph.add("Transpose", [graph.add("Reshape", [projection, headShape])], attributes: [.ints("perm", permutation)])
        }
        let q = heads(linear(x, m[0], outputs: A, inputs: C), permutation: [0, 2, 1, 3])  // (B, H, T, d)
        let k = heads(linear(x, m[1], outputs: A, inputs: C), permutation: [0, 2, 3, 1])  // (B, H, d, T)
        let v = heads(linear(x, m[2], outputs: A, inputs: C), permutation: [0, 2, 1, 3])  // (B, H, T, d)
        let scores = graph.add("Mul", [graph.add("MatMul", [q, k]), graph.constant([1 / Float(d).squareRoot()])])  // (B, H, T, T)
        let probabilities = graph.add("Softmax", [graph.add("Add", [scores, mask])], attributes: [.int("axis", -1)])
        let context = graph.add("Transpose", [graph.add("MatMul", [probabilities, v])], attributes: [.ints("perm", [0, 2, 1, 3])])
        let merged = graph.add("Reshape", [context, graph.constant(int64: [0, 0, Int64(A)], shape: [3])])  // (B, T, A)
        let attention = linear(merged, m[3], outputs: C, inputs: A)
        let h1 = norm(graph.add("Add", [attention, x]), names.attentionNorm)
        let intermediate = graph.gelu(linear(h1, m[4], outputs: I, inputs: C))  // (B, T, I)
        let ffn = linear(intermediate, m[5], outputs: C, inputs: I)
        return norm(graph.add("Add", [ffn, h1]), names.outputNorm)
    }

    /// The first `T` rows of a `(max_positions, C)` position table, `T` read from `input_ids`:
    /// `(T, C)`, broadcast over the batch when added.
    static func positions(_ graph: inout ONNXGraphBuilder, model: EncoderModel) -> String {
        let config = model.config, name = config.family.names.positionEmbeddings
        let table = graph.addInitializer(
            name, shape: [config.maxPositionEmbeddings, config.hiddenSize],
            values: UnsafeBufferPointer(start: model.store.value(name), count: config.maxPositionEmbeddings * config.hiddenSize))
        let length = graph.add("Shape", ["input_ids"], attributes: [.int("start", 1), .int("end", 2)])  // [T]
        return graph.add("Slice", [table, graph.constant(int64: [0], shape: [1]), length, graph.constant(int64: [0], shape: [1])])
    }

    /// `Gather` of `ids (B, T)` in the `(rows, C)` table `name`: `(B, T, C)`.
    static func lookup(_ graph: inout ONNXGraphBuilder, table name: String, rows: Int, ids: String, model: EncoderModel) -> String {
        let C = model.config.hiddenSize
        let table = graph.addInitializer(name, shape: [rows, C], values: UnsafeBufferPointer(start: model.store.value(name), count: rows * C))
        return graph.add("Gather", [table, ids], attributes: [.int("axis", 0)])
    }

    /// The embeddings' LayerNorm.
    static func embeddingNorm(_ graph: inout ONNXGraphBuilder, _ x: String, model: EncoderModel) -> String {
        let config = model.config, name = config.family.names.embeddingNorm
        return graph.layerNorm(
            x, name: name, weight: model.store.value(name + ".weight"), bias: model.store.value(name + ".bias"),
            channels: config.hiddenSize, epsilon: config.layerNormEps)
    }
}
