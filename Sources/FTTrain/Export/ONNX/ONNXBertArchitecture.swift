import FTModel

/// BERT (and sentence-transformers' BERT models such as all-MiniLM-L6-v2) in ONNX: the inputs
/// `input_ids`, `attention_mask`, `token_type_ids` as optimum exports `BertModel` and
/// `BertForSequenceClassification`; embeddings word + learned position + token type, LayerNorm;
/// the pooler's `tanh(dense(h₀))` before the classifier.
enum ONNXBertArchitecture: ONNXEncoderArchitecture {
    static let family = EncoderFamily.bert
    static let inputNames = ["input_ids", "attention_mask", "token_type_ids"]
    static let poolerActivation = "Tanh"

    static func embeddings(_ graph: inout ONNXGraphBuilder, model: EncoderModel) -> String {
        let config = model.config, names = config.family.names
        let words = ONNXEncoderGraph.lookup(&graph, table: names.wordEmbeddings, rows: config.vocabSize, ids: "input_ids", model: model)
        let positions = ONNXEncoderGraph.positions(&graph, model: model)
        let types = ONNXEncoderGraph.lookup(
            &graph, table: names.tokenTypeEmbeddings!, rows: config.typeVocabSize, ids: "token_type_ids", model: model)
        let sum = graph.add("Add", [graph.add("Add", [words, types]), positions])
        return ONNXEncoderGraph.embeddingNorm(&graph, sum, model: model)
    }
}
