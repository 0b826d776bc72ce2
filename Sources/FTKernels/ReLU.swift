/// max(x, 0): DistilBERT's activation after `pre_classifier`, and the bottleneck adapters'.
public enum ReLU {
    /// output = max(input, 0); a NaN stays NaN, as in PyTorch, so a diverging run shows. May alias.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count n: Int) {
        for i in 0..<n { output[i] = input[i] < 0 ? 0 : input[i] }
    }

    /// dInput = dOutput where the forward *output* was positive, else 0 (PyTorch's `threshold_backward`
    /// gives 0 at exactly 0). Overwrites; may alias dOutput.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>,
        output: UnsafePointer<Float>, count n: Int
    ) {
        for i in 0..<n { dInput[i] = output[i] <= 0 ? 0 : dOutput[i] }
    }
}
