import FTModel
import FTTrain

/// Labelled data as the federation uses it: read with the training configuration's options, each
/// label mapped onto the federation's classes (shared by every site and the coordinator), encoded.
enum FederatedData {
    /// - Throws: `DataError` for the file, `FederationError` naming the row of a label the
    ///   federation does not know.
    static func encode(
        path: String, labels: [String], configuration c: TrainingConfiguration, tokenizer: any EncoderTokenizer,
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

    /// Tagged sentences (token classification) with every tag mapped onto the federation's
    /// labels, encoded as `fttrain train` encodes them.
    /// - Throws: `DataError` for the file, `FederationError` naming the line of a tag the
    ///   federation does not know.
    static func encodeTagged(
        path: String, labels: [String], configuration c: TrainingConfiguration, tokenizer: any EncoderTokenizer, maxLength: Int
    ) throws -> EncodedDataset {
        let sentences = try TaggedSentences.read(path, scheme: c.tagScheme, tokensKey: "tokens", tagsKey: "tags")
        let known = Set(labels)
        for sentence in sentences {
            if let tag = sentence.tags.first(where: { !known.contains($0) }) {
                throw FederationError(description: "\(sentence.location): tag \"\(tag)\" is not one of the federation's labels \(labels)")
            }
        }
        var options = TokenClassificationTask.Options()
        options.scheme = c.tagScheme
        options.labelAllTokens = c.labelAllTokens
        options.maxLength = maxLength
        var counts = TokenClassificationTask.EncodingCounts()
        return TokenClassificationTask.encode(sentences, labels: labels, tokenizer: tokenizer, options: options, counts: &counts)
    }
}
