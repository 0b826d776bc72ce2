/// An encoder's input embeddings before their layer norm: word + absolute position (+ token
/// type, for families that have them). Position ids are `0 ..< T` for every row (BERT's
/// `position_ids` buffer, right padding).
public enum EmbeddingSum {
    /// output (B, T, C) = word[ids] + position[t] (+ tokenType[typeIds] when `tokenType` is given).
    public static func forward(
        output: UnsafeMutablePointer<Float>, inputIds: UnsafePointer<Int32>, tokenTypeIds: UnsafePointer<Int32>,
        word: UnsafePointer<Float>, position: UnsafePointer<Float>, tokenType: UnsafePointer<Float>?,
        batch B: Int, sequence T: Int, channels C: Int
    ) {
        for b in 0..<B {
            for t in 0..<T {
                let n = b * T + t
                let out = output + n * C
                let w = word + Int(inputIds[n]) * C
                let p = position + t * C
                if let tokenType {
                    let y = tokenType + Int(tokenTypeIds[n]) * C
                    for i in 0..<C { out[i] = w[i] + p[i] + y[i] }
                } else {
                    for i in 0..<C { out[i] = w[i] + p[i] }
                }
            }
        }
    }

    /// Scatter-adds dOutput (B, T, C) into the tables' gradients (any may be nil: frozen or absent),
    /// every word row included.
    public static func backward(
        dWord: UnsafeMutablePointer<Float>?, dPosition: UnsafeMutablePointer<Float>?,
        dTokenType: UnsafeMutablePointer<Float>?, dOutput: UnsafePointer<Float>,
        inputIds: UnsafePointer<Int32>, tokenTypeIds: UnsafePointer<Int32>,
        batch B: Int, sequence T: Int, channels C: Int
    ) {
        backward(
            dWord: dWord, dPosition: dPosition, dTokenType: dTokenType, dOutput: dOutput, inputIds: inputIds,
            tokenTypeIds: tokenTypeIds, batch: B, sequence: T, channels: C, paddingIndex: nil)
    }

    /// The same, where the word row `paddingIndex` gets no gradient (PyTorch's `nn.Embedding(padding_idx=…)`, as
    /// BERT builds its word embeddings): it matters where padded positions' outputs carry loss,
    /// as QA's softmax over every position does.
    public static func backward(
        dWord: UnsafeMutablePointer<Float>?, dPosition: UnsafeMutablePointer<Float>?,
        dTokenType: UnsafeMutablePointer<Float>?, dOutput: UnsafePointer<Float>,
        inputIds: UnsafePointer<Int32>, tokenTypeIds: UnsafePointer<Int32>,
        batch B: Int, sequence T: Int, channels C: Int, paddingIndex: Int32?
    ) {
        for b in 0..<B {
            for t in 0..<T {
                let n = b * T + t
                let g = dOutput + n * C
                if let dWord, inputIds[n] != paddingIndex {
                    let w = dWord + Int(inputIds[n]) * C
                    for i in 0..<C { w[i] += g[i] }
                }
                if let dPosition {
                    let p = dPosition + t * C
                    for i in 0..<C { p[i] += g[i] }
                }
                if let dTokenType {
                    let y = dTokenType + Int(tokenTypeIds[n]) * C
                    for i in 0..<C { y[i] += g[i] }
                }
            }
        }
    }
}
