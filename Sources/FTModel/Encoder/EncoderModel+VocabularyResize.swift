import FTCore
import Foundation

/// A vocabulary grown by added tokens (`add_tokens`), as transformers'
/// `model.resize_token_embeddings(len(tokenizer))`: the word-embedding matrix gets one row per
/// new id; the rows the old matrix had keep their values, the new ones are initialised from the
/// old ones (`mean_resizing=True`, transformers' default since 4.46).
///
/// transformers draws the new rows from a multivariate normal with the old rows' mean and
/// covariance scaled by 1e-9 (`_init_added_embeddings_weights_with_mean`), or sets them to the
/// mean when that covariance is not positive definite. The draw's spread is √1e-9 ≈ 3·10⁻⁵ of the
/// old rows' standard deviation: fttrain sets every new row to the mean, deterministic, which
/// is that distribution's centre (and transformers' own fallback).
extension EncoderModel {
    /// Copies the first `min(rows, V)` rows of the file's word-embedding matrix `(rows, C)` into
    /// the model's `(V, C)`.
    func copyWordEmbeddingRows(_ stored: String, rows: Int, from file: SafeTensorsFile) throws {
        let C = config.hiddenSize, V = config.vocabSize
        let values = try file.floats(stored)
        let destination = store.value(config.family.names.wordEmbeddings)
        let shared = min(rows, V) * C
        values.withUnsafeBufferPointer { source in
            destination.update(from: source.baseAddress!, count: shared)
        }
    }

    /// Sets word-embedding rows `oldRows ..< V` to the mean of rows `0 ..< oldRows`
    /// (accumulated in Double, rounded once).
    public func initializeAddedEmbeddingRows(from oldRows: Int) {
        let C = config.hiddenSize, V = config.vocabSize
        guard oldRows > 0, oldRows < V else { return }
        let w = store.value(config.family.names.wordEmbeddings)  // (V, C)
        var mean = [Double](repeating: 0, count: C)
        for r in 0..<oldRows {
            for c in 0..<C { mean[c] += Double(w[r * C + c]) }
        }
        for r in oldRows..<V {
            for c in 0..<C { w[r * C + c] = Float(mean[c] / Double(oldRows)) }
        }
    }
}
