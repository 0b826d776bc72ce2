import CInt8
import Foundation

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

    private let oneDNNLock = NSLock()
    /// oneDNN's copies of the weights' output channels, per column range (absent: not made yet;
    /// .some(nil): oneDNN refused the shape).
    private var oneDNNWeights: [Range<Int>: Int8OneDNNWeights?] = [:]

    /// Output channels `columns` in oneDNN's layout, reordered on first use (once; nil where oneDNN cannot).
    private func reorderedForOneDNN(_ columns: Range<Int>) -> Int8OneDNNWeights? {
        oneDNNLock.lock()
        defer { oneDNNLock.unlock() }
        if let made = oneDNNWeights[columns] { return made }
        let made = values.withUnsafeBufferPointer {
            Int8OneDNNWeights(values: $0.baseAddress! + columns.lowerBound * inputs, outputs: columns.count, inputs: inputs)
        }
        oneDNNWeights[columns] = .some(made)
        return made
    }

    /// `c (m, outputs) = a (m, inputs) · valuesᵀ` in int32 (exact) on `kernel`; rows of `a` are
    /// read `Int8Products.paddedInputs(inputs)` bytes long (`lda` at least that, the padding
    /// any bytes). With `columns` (starting at a multiple of 16), only those output channels:
    /// `c`'s column 0 is channel `columns.lowerBound`. `.onednn` runs the own VNNI kernel where
    /// oneDNN has no primitive for the shape (oneDNN wants a dense `c`: `ldc` = the column count).
    /// Returns the kernel that ran.
    @discardableResult
    public func product(
        a: UnsafePointer<UInt8>, lda: Int, c: UnsafeMutablePointer<Int32>, ldc: Int, rows m: Int,
        columns: Range<Int>? = nil, kernel: Int8Kernel = Int8Products.kernel
    ) -> Int8Kernel {
        let own = Int8Products.ownKernel(kernel), range = columns ?? 0..<outputs
        if m == 0 || range.isEmpty { return own }
        if Int8Products.runnable(kernel) == .onednn, inputs > 0, let weights = reorderedForOneDNN(range),
            Int8OneDNN.product(weights, a: a, lda: lda, c: c, ldc: ldc, m: m)
        {
            return .onednn
        }
        let panel = packed + range.lowerBound / 16 * Int8Products.paddedInputs(inputs) * 16
        Int8Products.product(a: a, lda: lda, packed: panel, c: c, ldc: ldc, m: m, n: range.count, k: inputs, kernel: own)
        return own
    }

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
    /// Rows quantised, multiplied and scaled back per chunk of this many: the chunk's bytes, its
    /// int32 sums and the weights stay in L2 between the three passes.
    public static let rowChunk = 128

    /// Quantises `input (N, I)` row by row into `quantized (N, paddedInputs(I))` (the padding zero),
    /// writing each row's `scale` and `zeroPoint` (`ft_int8_quantize_rows`: AVX-512 where the CPU
    /// has it, else AVX2, else plain C; every path gives the same bytes). The rows path follows
    /// `kernel` (`rowPath`).
    public static func quantizeRows(
        _ input: UnsafePointer<Float>, rows N: Int, inputs I: Int,
        quantized: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<Float>, zeroPoints: UnsafeMutablePointer<Int32>,
        kernel: Int8Kernel = Int8Products.kernel
    ) {
        ft_int8_quantize_rows(
            input, Int32(I), Int32(N), Int32(I), quantized, Int32(Int8Products.paddedInputs(I)), scales, zeroPoints,
            rowPath(kernel))
    }

    /// The quantisation and scaling path run beside `kernel`'s products (`int8_rows.h`): plain C
    /// with `.portable`, AVX2 at most with `.avx2` (as on a CPU without AVX-512, so forcing the
    /// kernel tests that CPU's whole path), else the widest the CPU has.
    static func rowPath(_ kernel: Int8Kernel) -> Int32 {
        switch kernel {
        case .portable: return 1
        case .avx2: return 2
        case .onednn, .vnni: return 0
        }
    }

    /// How `forward` spreads `rows` rows of a product with `outputs` channels over the threads.
    public enum Split: Equatable, Sendable {
        /// On the calling thread (inside a slice, one thread, or one 16-channel block).
        case none
        /// Output channels cut into this many parts (multiples of 16), one per thread, over rows
        /// quantised once: a short sequence (one served text), whose few rows would leave a
        /// row split with each thread reading every weight.
        case columns(Int)
        /// Rows cut into this many slices, each quantised, multiplied and scaled on its thread.
        case rows(Int)
    }

    /// The split `forward` uses from the calling thread: columns up to `rowChunk` rows, rows above.
    public static func split(rows N: Int, outputs O: Int) -> Split {
        if N > rowChunk {
            let slices = Parallel.sliceCount(of: N, granularity: 4)
            return slices > 1 ? .rows(slices) : .none
        }
        let parts = Parallel.sliceCount(of: (O + 15) / 16)
        return parts > 1 ? .columns(parts) : .none
    }

    /// out (N, O) = dynamically quantised input (N, I) · weightᵀ + bias (O). Overwrites `output`.
    /// Called outside a slice it uses every thread (`split`); inside one (a batch's sequences
    /// already spread over the threads), only the calling thread. Every split gives the same
    /// floats bit for bit: the integer sums are exact and the quantisation and scaling are per
    /// row and per element. The `.portable` kernel runs the plain C quantisation and scaling too, the
    /// `.avx2` kernel the AVX2 ones (`rowPath`).
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: Int8Weights,
        bias: UnsafePointer<Float>?, rows N: Int, kernel: Int8Kernel = Int8Products.kernel
    ) {
        let I = weight.inputs, O = weight.outputs
        if N == 0 || O == 0 { return }
        switch split(rows: N, outputs: O) {
        case .none:
            forwardRows(output: output, input: input, weight: weight, bias: bias, rows: N, kernel: kernel)
        case .rows:
            Parallel.forEachSlice(of: N, granularity: 4) { range in
                forwardRows(
                    output: output + range.lowerBound * O, input: input + range.lowerBound * I, weight: weight, bias: bias,
                    rows: range.count, kernel: kernel)
            }
        case .columns(let parts):
            forwardColumns(output: output, input: input, weight: weight, bias: bias, rows: N, parts: parts, kernel: kernel)
        }
    }

    /// `forward` for few rows (at most `rowChunk`): the rows quantised once on the calling thread,
    /// then each thread multiplies its part of the output channels into its own dense int32 rows
    /// and scales them into its columns of `output`.
    private static func forwardColumns(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: Int8Weights,
        bias: UnsafePointer<Float>?, rows N: Int, parts: Int, kernel: Int8Kernel
    ) {
        let I = weight.inputs, O = weight.outputs, stride = Int8Products.paddedInputs(I), blocks = (O + 15) / 16
        let path = rowPath(kernel)
        let (quantized, rowScales, zeroPoints) = Int8Scratch.current.reserve(rows: N, stride: stride)
        ft_int8_quantize_rows(input, Int32(I), Int32(N), Int32(I), quantized, Int32(stride), rowScales, zeroPoints, path)
        weight.scales.withUnsafeBufferPointer { sw in
            weight.channelSums.withUnsafeBufferPointer { sums in
                Parallel.forEachSlice(of: parts) { range in
                    for p in range {
                        let start = min(O, blocks * p / parts * 16), end = min(O, blocks * (p + 1) / parts * 16)
                        let n = end - start
                        if n == 0 { continue }
                        let c = Int8Scratch.current.sums(count: N * n)
                        weight.product(a: quantized, lda: stride, c: c, ldc: n, rows: N, columns: start..<end, kernel: kernel)
                        ft_int8_dequantize_rows(
                            c, Int32(n), output + start, Int32(O), Int32(N), Int32(n), rowScales, zeroPoints, sw.baseAddress! + start,
                            sums.baseAddress! + start, bias.map { $0 + start }, path)
                    }
                }
            }
        }
    }

    /// `forward` on the calling thread alone, in chunks of `rowChunk` rows.
    static func forwardRows(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: Int8Weights,
        bias: UnsafePointer<Float>?, rows N: Int, kernel: Int8Kernel
    ) {
        let I = weight.inputs, O = weight.outputs, stride = Int8Products.paddedInputs(I)
        let chunk = min(N, rowChunk), path = rowPath(kernel)
        let (quantized, rowScales, zeroPoints) = Int8Scratch.current.reserve(rows: chunk, stride: stride)
        weight.scales.withUnsafeBufferPointer { sw in
            weight.channelSums.withUnsafeBufferPointer { sums in
                var first = 0
                while first < N {
                    let rows = min(chunk, N - first)
                    ft_int8_quantize_rows(
                        input + first * I, Int32(I), Int32(rows), Int32(I), quantized, Int32(stride), rowScales, zeroPoints, path)
                    // The int32 sums go into `output`'s own memory (4 bytes each, like the floats
                    // that replace them in place, element by element).
                    let y = output + first * O
                    let c = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Int32.self)
                    weight.product(a: quantized, lda: stride, c: c, ldc: O, rows: rows, kernel: kernel)
                    ft_int8_dequantize_rows(
                        c, Int32(O), y, Int32(O), Int32(rows), Int32(O), rowScales, zeroPoints, sw.baseAddress!,
                        sums.baseAddress!, bias, path)
                    first += rows
                }
            }
        }
    }
}
