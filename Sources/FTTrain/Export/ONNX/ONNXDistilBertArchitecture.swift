import FTModel

/// DistilBERT in ONNX: the inputs `input_ids`, `attention_mask` (no token types), as optimum
/// exports `DistilBertModel` and `DistilBertForSequenceClassification`; embeddings word +
/// position (learned, or the fixed sinusoids, stored as the table fttrain computed), LayerNorm;
/// `relu(pre_classifier(h₀))` before the classifier.
enum ONNXDistilBertArchitecture: ONNXEncoderArchitecture {
    static let family = EncoderFamily.distilBERT
    static let inputNames = ["input_ids", "attention_mask"]
    static let poolerActivation = "Relu"

    static func embeddings(_ graph: inout ONNXGraphBuilder, model: EncoderModel) -> String {
        let config = model.config
        let words = ONNXEncoderGraph.lookup(
            &graph, table: config.family.names.wordEmbeddings, rows: config.vocabSize, ids: "input_ids", model: model)
        let sum = graph.add("Add", [words, ONNXEncoderGraph.positions(&graph, model: model)])
        return ONNXEncoderGraph.embeddingNorm(&graph, sum, model: model)
    }
}
