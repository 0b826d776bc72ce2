import CInt8

/// An INT8 encoder layer's feed-forward block, `output = W₂ · GELU(W₁ · input + b₁) + b₂` with
/// both products dynamically quantised (`Int8Linear`), run chunk by chunk of rows so that the
/// float32 GELU activation never exists as a buffer: the first product's int32 sums are scaled,
/// biased, passed through GELU and quantised for the second product in one pass per row
/// (`ft_int8_dequantize_gelu_quantize_rows`), while the row is in L1.
///
/// Unfused, the same work is three passes over the widest activation (I = 4C): the first
/// product's epilogue writes it, GELU reads and writes it, the second product's row quantisation
/// reads it twice (range, then bytes) — GELU and those passes were ~14% of an INT8 inference step
/// of all-MiniLM-L6-v2 at 64 × 128 (perf), more than the second product's own integer work.
///
/// The results are the unfused ones bit for bit (`Int8FeedForwardTests`): the C GELU does the
/// Swift `GELU.forward`'s operations in the same order, and the dequantisation and quantisation
/// are the same functions. So a model's outputs do not depend on which of the two ran, and stay
/// identical across the kernels (`EncoderInt8InferenceTests`).
public enum Int8FeedForward {
    /// output (N, C) = W₂ · GELU(W₁ · input (N, C) + b₁) + b₂, with `intermediate` W₁ (I, C) and
    /// `output` W₂ (C, I) quantised. Overwrites `output`. The threads as `Int8Linear.forward`
    /// splits rows (inside a slice: the calling thread only); where that would cut output channels
    /// instead (one short text over several threads), the unfused products, the same floats.
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        intermediate: Int8Weights, intermediateBias: UnsafePointer<Float>,
        outputWeight second: Int8Weights, outputBias: UnsafePointer<Float>?,
        rows N: Int, kernel: Int8Kernel = Int8Products.kernel
    ) {
        precondition(intermediate.outputs == second.inputs, "Int8FeedForward: the products' widths disagree")
        if N == 0 { return }
        switch Int8Linear.split(rows: N, outputs: intermediate.outputs) {
        case .none:
            forwardRows(
                output: output, input: input, intermediate: intermediate, intermediateBias: intermediateBias,
                outputWeight: second, outputBias: outputBias, rows: N, kernel: kernel)
        case .rows:
            let C = intermediate.inputs, O = second.outputs
            Parallel.forEachSlice(of: N, granularity: 4) { range in
                forwardRows(
                    output: output + range.lowerBound * O, input: input + range.lowerBound * C,
                    intermediate: intermediate, intermediateBias: intermediateBias,
                    outputWeight: second, outputBias: outputBias, rows: range.count, kernel: kernel)
            }
        case .columns:
            unfused(
                output: output, input: input, intermediate: intermediate, intermediateBias: intermediateBias,
                outputWeight: second, outputBias: outputBias, rows: N, kernel: kernel)
        }
    }

    /// The same block as three separate steps (the reference the fused one equals): the first
    /// product with no bias, `GELU.forward` with the bias, the second product.
    public static func unfused(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        intermediate: Int8Weights, intermediateBias: UnsafePointer<Float>,
        outputWeight second: Int8Weights, outputBias: UnsafePointer<Float>?,
        rows N: Int, kernel: Int8Kernel = Int8Products.kernel
    ) {
        let I = intermediate.outputs
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: N * I)  // (N, I)
        defer { hidden.deallocate() }
        Int8Linear.forward(output: hidden, input: input, weight: intermediate, bias: nil, rows: N, kernel: kernel)
        GELU.forward(output: hidden, input: hidden, bias: intermediateBias, rows: N, columns: I)
        Int8Linear.forward(output: output, input: hidden, weight: second, bias: outputBias, rows: N, kernel: kernel)
    }

    /// x (n) = GELU(x) in place, as the fused block computes it (`ft_gelu_inplace`: AVX-512,
    /// AVX2 + FMA or plain C, following `kernel` as the row quantisation does): the values of
    /// `GELU.forward`.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count n: Int, kernel: Int8Kernel = Int8Products.kernel) {
        ft_gelu_inplace(x, Int32(n), Int8Linear.rowPath(kernel))
    }

    /// `forward` on the calling thread, in chunks of `Int8Linear.rowChunk` rows: quantise the
    /// chunk's inputs, first product, fused epilogue + GELU + quantisation, second product into
    /// `output`'s own memory, its epilogue in place.
    static func forwardRows(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        intermediate: Int8Weights, intermediateBias: UnsafePointer<Float>,
        outputWeight second: Int8Weights, outputBias: UnsafePointer<Float>?,
        rows N: Int, kernel: Int8Kernel
    ) {
        let C = intermediate.inputs, I = intermediate.outputs, O = second.outputs
        let strideC = Int8Products.paddedInputs(C), strideI = Int8Products.paddedInputs(I)
        let chunk = min(N, Int8Linear.rowChunk), path = Int8Linear.rowPath(kernel)
        let scratch = Int8Scratch.current, own = Int8FeedForwardScratch.current
        let (quantized, rowScales, zeroPoints) = scratch.reserve(rows: chunk, stride: strideC)
        let sums = scratch.sums(count: chunk * I)  // (chunk, I) dense, as oneDNN wants
        let (hidden, hiddenScales, hiddenZeros, row) = own.reserve(rows: chunk, stride: strideI, width: I)
        intermediate.scales.withUnsafeBufferPointer { s1 in
            intermediate.channelSums.withUnsafeBufferPointer { sums1 in
                second.scales.withUnsafeBufferPointer { s2 in
                    second.channelSums.withUnsafeBufferPointer { sums2 in
                        var first = 0
                        while first < N {
                            let rows = min(chunk, N - first)
                            ft_int8_quantize_rows(
                                input + first * C, Int32(C), Int32(rows), Int32(C), quantized, Int32(strideC),
                                rowScales, zeroPoints, path)
                            intermediate.product(a: quantized, lda: strideC, c: sums, ldc: I, rows: rows, kernel: kernel)
                            ft_int8_dequantize_gelu_quantize_rows(
                                sums, Int32(I), Int32(rows), Int32(I), rowScales, zeroPoints, s1.baseAddress!,
                                sums1.baseAddress!, intermediateBias, row, hidden, Int32(strideI), hiddenScales,
                                hiddenZeros, path)
                            // The int32 sums go into `output`'s own memory, replaced in place by their floats.
                            let y = output + first * O
                            let c = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Int32.self)
                            second.product(a: hidden, lda: strideI, c: c, ldc: O, rows: rows, kernel: kernel)
                            ft_int8_dequantize_rows(
                                c, Int32(O), y, Int32(O), Int32(rows), Int32(O), hiddenScales, hiddenZeros,
                                s2.baseAddress!, sums2.baseAddress!, outputBias, path)
                            first += rows
                        }
                    }
                }
            }
        }
    }
}

/// One thread's buffers for `Int8FeedForward` beside its `Int8Scratch` (which holds the block's
/// input rows and first sums): the quantised GELU rows with their scales and zero points, and one
/// float32 row. Grown as needed, never shrunk.
final class Int8FeedForwardScratch {
    private static let slot = ThreadSlot { Int8FeedForwardScratch() }
    private var bytes: UnsafeMutablePointer<UInt8>?, scales: UnsafeMutablePointer<Float>?
    private var zeroPoints: UnsafeMutablePointer<Int32>?, row: UnsafeMutablePointer<Float>?
    private var byteCapacity = 0, rowCapacity = 0, widthCapacity = 0

    /// Room for `count` quantised rows of `stride` bytes, their scales and zero points, and one
    /// row of `width` floats.
    func reserve(
        rows count: Int, stride: Int, width: Int
    ) -> (
        UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Float>
    ) {
        if count * stride > byteCapacity {
            bytes?.deallocate()
            byteCapacity = count * stride
            bytes = .allocate(capacity: max(byteCapacity, 1))
        }
        if count > rowCapacity {
            scales?.deallocate()
            zeroPoints?.deallocate()
            rowCapacity = count
            scales = .allocate(capacity: max(count, 1))
            zeroPoints = .allocate(capacity: max(count, 1))
        }
        if width > widthCapacity {
            row?.deallocate()
            widthCapacity = width
            row = .allocate(capacity: max(width, 1))
        }
        return (bytes!, scales!, zeroPoints!, row!)
    }

    /// The calling thread's scratch.
    static var current: Int8FeedForwardScratch { slot.current }

    deinit {
        bytes?.deallocate()
        scales?.deallocate()
        zeroPoints?.deallocate()
        row?.deallocate()
    }
}
