/// Position ids that skip padding, as RoBERTa computes them (transformers'
/// `create_position_ids_from_input_ids`), and the embedding sum over explicit position ids.
///
/// RoBERTa's positions start at `padding_idx + 1` and count only the tokens that are not padding;
/// a padding token gets position `padding_idx`, whose table row (an `nn.Embedding(padding_idx=…)`
/// row) never receives a gradient.
public enum PaddingPositions {
    /// positions (B, T) = cumsum(ids ≠ pad) · (ids ≠ pad) + pad, row by row.
    public static func fill(
        positions: UnsafeMutablePointer<Int32>, inputIds: UnsafePointer<Int32>, paddingIndex: Int32, batch B: Int, sequence T: Int
    ) {
        for b in 0..<B {
            var count: Int32 = 0
            for t in 0..<T {
                let n = b * T + t
                if inputIds[n] != paddingIndex {
                    count += 1
                    positions[n] = paddingIndex + count
                } else {
                    positions[n] = paddingIndex
                }
            }
        }
    }
}

extension EmbeddingSum {
    /// output (B, T, C) = word[ids] + position[positionIds] (+ tokenType[typeIds] when `tokenType` is given).
    public static func forward(
        output: UnsafeMutablePointer<Float>, inputIds: UnsafePointer<Int32>, positionIds: UnsafePointer<Int32>,
        tokenTypeIds: UnsafePointer<Int32>, word: UnsafePointer<Float>, position: UnsafePointer<Float>,
        tokenType: UnsafePointer<Float>?, batch B: Int, sequence T: Int, channels C: Int
    ) {
        for n in 0..<(B * T) {
            let out = output + n * C
            let w = word + Int(inputIds[n]) * C
            let p = position + Int(positionIds[n]) * C
            if let tokenType {
                let y = tokenType + Int(tokenTypeIds[n]) * C
                for i in 0..<C { out[i] = w[i] + p[i] + y[i] }
            } else {
                for i in 0..<C { out[i] = w[i] + p[i] }
            }
        }
    }

    /// Scatter-adds dOutput (B, T, C) into the tables' gradients (any may be nil), the word row
    /// and the position row `paddingIndex` excepted (both tables are `nn.Embedding(padding_idx=…)`
    /// in RoBERTa).
    public static func backward(
        dWord: UnsafeMutablePointer<Float>?, dPosition: UnsafeMutablePointer<Float>?,
        dTokenType: UnsafeMutablePointer<Float>?, dOutput: UnsafePointer<Float>,
        inputIds: UnsafePointer<Int32>, positionIds: UnsafePointer<Int32>, tokenTypeIds: UnsafePointer<Int32>,
        batch B: Int, sequence T: Int, channels C: Int, paddingIndex: Int32
    ) {
        for n in 0..<(B * T) {
            let g = dOutput + n * C
            if let dWord, inputIds[n] != paddingIndex {
                let w = dWord + Int(inputIds[n]) * C
                for i in 0..<C { w[i] += g[i] }
            }
            if let dPosition, positionIds[n] != paddingIndex {
                let p = dPosition + Int(positionIds[n]) * C
                for i in 0..<C { p[i] += g[i] }
            }
            if let dTokenType {
                let y = dTokenType + Int(tokenTypeIds[n]) * C
                for i in 0..<C { y[i] += g[i] }
            }
        }
    }
}
