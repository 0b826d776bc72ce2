/// How a model's store names map onto Hugging Face's checkpoint and module names, its layers,
/// embeddings and head: what the trainer, freezing, PEFT's adapter files, checkpoints and the
/// data-parallel sparse embedding path ask of a model's names, whatever its family
/// (`EncoderTensorNames` for BERT-like encoders, `LlamaTensorNaming` for Llama decoders).
public protocol ModelTensorNaming: Sendable {
    /// Store name of the word-embedding table (rows are token ids).
    var wordEmbeddings: String { get }
    /// Hugging Face's name of store tensor `name` in the family's full-model checkpoint.
    func checkpointName(_ name: String) -> String
    /// The store name of a tensor of such a checkpoint.
    func storeName(_ checkpointName: String) -> String
    /// Hugging Face's full module name of a store tensor's module (what PEFT's `target_modules`
    /// and `modules_to_save` are matched against).
    func moduleName(ofTensor name: String) -> String
    /// The layer index of a store tensor of a transformer layer, nil for the others.
    func layer(ofTensor name: String) -> Int?
    /// Whether store tensor `name` belongs to the embeddings (`freeze_embeddings`).
    func isEmbeddingTensor(_ name: String) -> Bool
    /// Whether store tensor `name` belongs to the task head.
    func isHeadTensor(_ name: String) -> Bool
    /// Prefix of layer `l`'s store names.
    func layer(_ l: Int) -> String
    /// The table whose gradient has nonzero rows only at the batch's token ids, so data-parallel
    /// averaging may send those rows alone; nil when no table is (a tied output projection
    /// writes every row of the embedding table).
    var sparseGradientTable: String? { get }
}

extension ModelTensorNaming {
    public var sparseGradientTable: String? { wordEmbeddings }
}

extension EncoderTensorNames: ModelTensorNaming {}
