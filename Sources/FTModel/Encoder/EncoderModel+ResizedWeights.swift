import FTCore
import Foundation

/// A model directory's weights with a grown vocabulary written to a new file (`fttrain
/// extend-vocab`): what `model.resize_token_embeddings(n)` followed by `save_pretrained` gives.
extension EncoderModel {
    /// Writes `modelDirectory`'s `model.safetensors` to `destination` with the word-embedding
    /// matrix grown to `vocabularySize` rows: the old rows as they were, the new ones the mean of
    /// the old (``initializeAddedEmbeddingRows(from:)``, as training with `add_tokens` does). Every
    /// other tensor is copied byte for byte, with its name, dtype and the file's metadata; the
    /// embedding keeps its dtype (a BF16 matrix stays BF16, the mean rounded once).
    /// - Returns: the old number of rows.
    /// - Throws: `ModelError` for a bad directory (`config.json`, weights disagreeing with it), a
    ///   `vocabularySize` smaller than the stored matrix, or a quantised directory.
    @discardableResult
    public static func writeResizedWeights(modelDirectory: URL, vocabularySize: Int, to destination: URL) throws -> Int {
        let configPath = modelDirectory.appendingPathComponent("config.json").path
        let weightsPath = modelDirectory.appendingPathComponent("model.safetensors").path
        if try quantizationMarker(configPath: configPath) {
            throw ModelError.badConfig(configPath, "the directory is quantised (fttrain quantize): extend the float model's vocabulary instead")
        }
        let stored = try ModelRegistry.encoderFamily(configPath: configPath).config
        guard vocabularySize >= stored.vocabSize else {
            throw ModelError.badConfig(configPath, "the vocabulary would shrink from \(stored.vocabSize) to \(vocabularySize) rows")
        }
        let model = try load(modelDirectory: modelDirectory, vocabularySize: vocabularySize)
        let file = try SafeTensorsFile(path: weightsPath)
        let names = model.config.family.names
        guard let embeddingName = storedName(for: names.wordEmbeddings, in: file, names: names), let info = file.info(embeddingName)
        else { throw ModelError.missingTensor(file: weightsPath, tensor: names.wordEmbeddings) }
        let C = model.config.hiddenSize
        var writer = SafeTensorsWriter(metadata: file.metadata)
        for tensor in file.tensors {
            if tensor.name == embeddingName {
                let values = UnsafeBufferPointer(start: model.store.value(names.wordEmbeddings), count: vocabularySize * C)
                try writer.add(tensor.name, shape: [vocabularySize, C], floats: values, as: info.dtype.isFloatingPoint ? info.dtype : .F32)
            } else {
                try file.withRawBytes(tensor.name) { bytes in
                    try writer.add(tensor.name, shape: tensor.shape, rawBytes: Array(bytes), dtype: tensor.dtype)
                }
            }
        }
        try writer.write(toPath: destination.path)
        return stored.vocabSize
    }
}
