/// A linear layer's weight `(out, in)` quantised for dynamic INT8 inference, as PyTorch's
/// `quantize_dynamic` and ONNX Runtime's dynamic quantisation store it: int8 per output channel,
/// symmetric (`w ≈ scale[o] · q[o][i]`, q in -127…127, scale = max|w[o]| / 127), packed once for
/// the product kernels, with each channel's integer sum (the activations' zero point term).
public final class Int8Weights: @unchecked Sendable {
    /// O and I.
    public let outputs: Int, inputs: Int
    /// (O, I) the quantised weights, row-major (what a quantised model file stores).
    public let values: [Int8]
    /// (O) the per-channel scales.
    public let scales: [Float]
    /// (O) Σᵢ q[o][i].
    let channelSums: [Int32]
    /// The packed layout of `values` (`Int8Products.pack`).
    let packed: UnsafeMutablePointer<Int8>

    /// Quantises a float32 weight `(outputs, inputs)`.
    public convenience init(weight: UnsafePointer<Float>, outputs: Int, inputs: Int) {
        let (values, scales) = Int8Weights.quantize(weight, outputs: outputs, inputs: inputs)
        self.init(values: values, scales: scales, outputs: outputs, inputs: inputs)
    }

    /// Wraps weights already quantised (read from a quantised model file).
    /// - Precondition: `values.count == outputs · inputs`, `scales.count == outputs`.
    public init(values: [Int8], scales: [Float], outputs: Int, inputs: Int) {
        precondition(values.count == outputs * inputs && scales.count == outputs, "Int8Weights: sizes disagree")
        self.outputs = outputs
        self.inputs = inputs
        self.values = values
        self.scales = scales
        var sums = [Int32](repeating: 0, count: outputs)
        for o in 0..<outputs {
            var s: Int32 = 0
            for i in 0..<inputs { s += Int32(values[o * inputs + i]) }
            sums[o] = s
        }
        channelSums = sums
        let size = Int8Products.packedSize(outputs: outputs, inputs: inputs)
        packed = .allocate(capacity: max(size, 1))
        values.withUnsafeBufferPointer { Int8Products.pack($0.baseAddress!, ldb: inputs, outputs: outputs, inputs: inputs, into: packed) }
    }

    deinit { packed.deallocate() }

    /// Symmetric per-row quantisation of `weight (outputs, inputs)`: scale = max|w| / 127 (1 for an
    /// all-zero row), q = w / scale rounded to nearest even. Dequantising and quantising again gives
    /// the same q and scale (a quantised file loaded as float32 and re-quantised is unchanged).
    public static func quantize(_ weight: UnsafePointer<Float>, outputs: Int, inputs: Int) -> (values: [Int8], scales: [Float]) {
        var values = [Int8](repeating: 0, count: outputs * inputs)
        var scales = [Float](repeating: 1, count: outputs)
        for o in 0..<outputs {
            let row = weight + o * inputs
            var largest: Float = 0
            for i in 0..<inputs { largest = max(largest, abs(row[i])) }
            let scale: Float = largest > 0 ? largest / 127 : 1
            scales[o] = scale
            for i in 0..<inputs {
                let q = (row[i] / scale).rounded(.toNearestOrEven)
                values[o * inputs + i] = Int8(max(-127, min(127, q)))
            }
        }
        return (values, scales)
    }
}

/// `nn.Linear` with dynamically quantised products (PyTorch's `quantize_dynamic`):
/// each input row is quantised at run time to unsigned bytes with its own scale and zero point
/// (asymmetric: `x ≈ scale · (q − zero)`, q in 0…255, the range spanning min(x, 0)…max(x, 0)),
/// multiplied by the int8 weights with exact int32 sums, and scaled back to float32:
///
///     y[r][o] = sx[r] · sw[o] · (Σᵢ qx[r][i] · qw[o][i] − zero[r] · Σᵢ qw[o][i]) + b[o]
///
/// Why unsigned activations with a zero point rather than symmetric int8: `vpdpbusd` multiplies
/// unsigned by signed bytes, so u8 activations are its native operand (s8 × s8 needs a +128 shift
/// and a correction term anyway); and the inputs of the products are lopsided (GELU's output lies
/// in −0.17…∞), which an asymmetric range covers with all 256 levels instead of about half.
/// Per-row rather than per-tensor scales (PyTorch's choice) keep one outlier token from coarsening
/// every other row's grid, at the cost of one more multiply per output.
public enum Int8Linear {
    /// Quantises `input (N, I)` row by row into `quantized (N, paddedInputs(I))` (the padding zero),
    /// writing each row's `scale` and `zeroPoint`.
    public static func quantizeRows(
        _ input: UnsafePointer<Float>, rows N: Int, inputs I: Int,
        quantized: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<Float>, zeroPoints: UnsafeMutablePointer<Int32>
    ) {
        let stride = Int8Products.paddedInputs(I)
        for r in 0..<N {
            let x = input + r * I, q = quantized + r * stride
            var lo: Float = 0, hi: Float = 0
            var i = 0
            if I >= 8 {
                var vlo = SIMD8<Float>(repeating: 0), vhi = SIMD8<Float>(repeating: 0)
                while i + 8 <= I {
                    let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                    vlo = pointwiseMin(vlo, v)
                    vhi = pointwiseMax(vhi, v)
                    i += 8
                }
                lo = vlo.min()
                hi = vhi.max()
            }
            while i < I {
                lo = min(lo, x[i])
                hi = max(hi, x[i])
                i += 1
            }
            let scale: Float = hi > lo ? (hi - lo) / 255 : 1
            let zero = max(0, min(255, (-lo / scale).rounded(.toNearestOrEven)))
            scales[r] = scale
            zeroPoints[r] = Int32(zero)
            let inverse = 1 / scale
            i = 0
            let vz = SIMD8<Float>(repeating: zero), vinv = SIMD8<Float>(repeating: inverse)
            let v0 = SIMD8<Float>(repeating: 0), v255 = SIMD8<Float>(repeating: 255)
            while i + 8 <= I {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                let s = (v * vinv).rounded(.toNearestOrEven) + vz
                let c = SIMD8<Int32>(pointwiseMax(v0, pointwiseMin(v255, s)))
                for j in 0..<8 { q[i + j] = UInt8(truncatingIfNeeded: c[j]) }
                i += 8
            }
            while i < I {
                let s = (x[i] * inverse).rounded(.toNearestOrEven) + zero
                q[i] = UInt8(max(0, min(255, s)))
                i += 1
            }
            for p in I..<stride { q[p] = 0 }
        }
    }

    /// out (N, O) = dynamically quantised input (N, I) · weightᵀ + bias (O). Overwrites `output`.
    /// Single-threaded, like `Linear.forward` (callers run it inside their slice).
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: Int8Weights,
        bias: UnsafePointer<Float>?, rows N: Int, kernel: Int8Kernel = Int8Products.kernel
    ) {
        let I = weight.inputs, O = weight.outputs, stride = Int8Products.paddedInputs(I)
        if N == 0 || O == 0 { return }
        let quantized = UnsafeMutablePointer<UInt8>.allocate(capacity: N * stride)
        let rowScales = UnsafeMutablePointer<Float>.allocate(capacity: N)
        let zeroPoints = UnsafeMutablePointer<Int32>.allocate(capacity: N)
        defer {
            quantized.deallocate()
            rowScales.deallocate()
            zeroPoints.deallocate()
        }
        quantizeRows(input, rows: N, inputs: I, quantized: quantized, scales: rowScales, zeroPoints: zeroPoints)
        // The int32 sums go into `output`'s own memory (4 bytes each, like the floats that replace
        // them in place), read and written through a raw pointer.
        let raw = UnsafeMutableRawPointer(output)
        Int8Products.product(
            a: quantized, lda: stride, packed: weight.packed, c: raw.assumingMemoryBound(to: Int32.self), ldc: O,
            m: N, n: O, k: I, kernel: kernel)
        weight.scales.withUnsafeBufferPointer { sw in
            weight.channelSums.withUnsafeBufferPointer { sums in
                for r in 0..<N {
                    let zero = zeroPoints[r], sx = rowScales[r]
                    let row = raw + r * O * 4
                    for o in 0..<O {
                        let acc = row.load(fromByteOffset: o * 4, as: Int32.self) &- zero &* sums[o]
                        var y = sx * sw[o] * Float(acc)
                        if let bias { y += bias[o] }
                        row.storeBytes(of: y, toByteOffset: o * 4, as: Float.self)
                    }
                }
            }
        }
    }
}
