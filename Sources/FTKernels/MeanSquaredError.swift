/// The mean squared error, PyTorch's `nn.MSELoss` with `reduction='mean'`: the mean over all
/// N outputs of `(x − y)²`. Regression heads (`problem_type: regression`) use it on the squeezed
/// logits, N = B for one output per sequence.
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.MSELoss.html
public enum MeanSquaredError {
    /// Returns the mean loss over `count` predictions and, when `dPredictions` is given, writes its
    /// gradient (overwriting): `2 (x − y) / count`. The sum is taken in Double.
    public static func forward(
        predictions: UnsafePointer<Float>, targets: UnsafePointer<Float>, count N: Int,
        dPredictions: UnsafeMutablePointer<Float>? = nil
    ) -> Float {
        guard N > 0 else { return 0 }
        var total: Double = 0
        let scale = 2 / Float(N)
        for i in 0..<N {
            let d = predictions[i] - targets[i]
            total += Double(d) * Double(d)
            dPredictions?[i] = d * scale
        }
        return Float(total / Double(N))
    }
}
