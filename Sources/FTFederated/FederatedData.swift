import FTModel
import FTTrain

/// Labelled data as the federation uses it: read with the training configuration's options, each
/// label mapped onto the federation's classes (shared by every site and the coordinator), encoded.
enum FederatedData {
    /// - Throws: `DataError` for the file, `FederationError` naming the row of a label the
    ///   federation does not know.
    static func encode(
        path: String, labels: [String], configuration c: TrainingConfiguration, tokenizer: BertTokenizer,
        maxLength: Int
    ) throws -> EncodedDataset {
        let loaded = try DataReader.read(path, options: c.readOptions)
        let ids = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, Int32($0.offset)) })
        let classes = try loaded.examples.map { example -> Int32 in
            guard let id = ids[example.label] else {
                throw FederationError(description: "\(example.location): label \"\(example.label)\" is not one of the federation's labels \(labels)")
            }
            return id
        }
        return EncodedDataset.encode(
            texts: loaded.examples.map(\.text), pairs: loaded.examples.map(\.textPair), labels: classes,
            tokenizer: tokenizer, maxLength: maxLength)
    }
}
