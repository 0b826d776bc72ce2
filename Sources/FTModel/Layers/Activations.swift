#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exact GELU, `x · Φ(x)` with the error function (PyTorch's default `approximate='none'`, which
/// BERT's `hidden_act: "gelu"` means). reference: https://pytorch.org/docs/stable/generated/torch.nn.GELU.html
public enum GELU {
    /// output (n) = x · ½ (1 + erf(x / √2)). `output` may alias `input`.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count n: Int) {
        let invSqrt2: Float = 0.70710678118654752
        for i in 0..<n {
            let x = input[i]
            output[i] = 0.5 * x * (1 + erff(x * invSqrt2))
        }
    }

    /// dInput (n) = dOutput · (Φ(x) + x · φ(x)). Overwrites; may alias dOutput.
    public static func backward(dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>,
                                input: UnsafePointer<Float>, count n: Int) {
        let invSqrt2: Float = 0.70710678118654752
        let invSqrt2Pi: Float = 0.39894228040143268
        for i in 0..<n {
            let x = input[i]
            let cdf = 0.5 * (1 + erff(x * invSqrt2))
            let pdf = invSqrt2Pi * expf(-0.5 * x * x)
            dInput[i] = dOutput[i] * (cdf + x * pdf)
        }
    }
}

/// Hyperbolic tangent (BERT's pooler activation).
public enum Tanh {
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count n: Int) {
        for i in 0..<n { output[i] = tanhf(input[i]) }
    }

    /// dInput = dOutput · (1 − y²) from the forward *output* y. Overwrites; may alias dOutput.
    public static func backward(dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>,
                                output: UnsafePointer<Float>, count n: Int) {
        for i in 0..<n { dInput[i] = dOutput[i] * (1 - output[i] * output[i]) }
    }
}
