import FTCore
import Foundation
import FTModel
import TestSupport
import XCTest

/// INT8 inference of a whole encoder (`quantizeForInference`) gives the same logits and hidden
/// states bit for bit on every kernel this CPU runs (oneDNN, own VNNI, AVX2, portable: exact
/// integer sums, identical row quantisation and scaling), and for one text on 1 and 2 threads
/// (its products cut by output channels over the threads). Widths not a
/// multiple of 16 (hidden 40, intermediate 72) give each thread a ragged part.
final class EncoderInt8InferenceTests: XCTestCase {
    static let T = 12, labels = 3

    static var kernels: [Int8Kernel] {
        (Int8Products.cpuHasVNNI ? [.onednn, .vnni] : []) + (Int8Products.cpuHasAVX2 ? [.avx2] : []) + [.portable]
    }

    func model() throws -> EncoderModel {
        let config = EncoderConfig(
            vocabSize: 50, hiddenSize: 40, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 72, maxPositionEmbeddings: 16)
        let model = try EncoderModel(config: config, numLabels: Self.labels)
        var rng = SeededRNG(seed: 5)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.2)
        model.quantizeForInference()
        return model
    }

    /// Logits and last hidden state of an inference forward over `B` sequences (sequence b has T − b tokens).
    func run(_ model: EncoderModel, batch B: Int, threads: Int, kernel: Int8Kernel) throws -> [Float] {
        let savedThreads = Parallel.threadCount, savedKernel = Int8Products.kernel
        Parallel.threadCount = threads
        Int8Products.kernel = kernel
        defer {
            Parallel.threadCount = savedThreads
            Int8Products.kernel = savedKernel
        }
        let T = Self.T
        var rng = SeededRNG(seed: 9)
        let ids = (0..<(B * T)).map { _ in Int32(rng.next() % 50) }
        let mask = (0..<(B * T)).map { Int32($0 % T < T - $0 / T ? 1 : 0) }
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: B * T), attentionMask: mask, batch: B, sequence: T,
            training: false)
        return Array(UnsafeBufferPointer(start: out.logits!, count: B * Self.labels))
            + Array(UnsafeBufferPointer(start: out.lastHiddenState, count: B * T * model.config.hiddenSize))
    }

    func testOutputsAreTheSameOnEveryThreadCountAndKernel() throws {
        let model = try model()
        XCTAssertTrue(model.isQuantized)
        for B in [1, 6] {
            var references: [[Float]] = []
            for threads in [1, 2] {
                let reference = try run(model, batch: B, threads: threads, kernel: .portable)
                XCTAssertFalse(reference.contains { !$0.isFinite }, "B \(B)")
                for kernel in Self.kernels where kernel != .portable {
                    XCTAssertEqual(try run(model, batch: B, threads: threads, kernel: kernel), reference, "B \(B), \(kernel), \(threads) threads")
                }
                references.append(reference)
            }
            if B == 1 {
                // One text: only the INT8 products change with the thread count (cut by output channels).
                XCTAssertEqual(references[1], references[0], "B 1, 1 against 2 threads")
            } else {
                // Six texts: the batch is cut into sequences per thread, and the float32 parts
                // around the INT8 products (the pooler's and classifier's OpenBLAS products over
                // B rows) re-associate with the slice: equal up to float32 rounding.
                assertClose(references[1], references[0], atol: 1e-5, rtol: 1e-5, "B 6, 1 against 2 threads")
            }
        }
        // The INT8 model stays near the float32 one (quantisation error only).
        model.dropQuantization()
        let float32 = try run(model, batch: 1, threads: 2, kernel: .portable)
        model.quantizeForInference()
        let int8 = try run(model, batch: 1, threads: 2, kernel: Int8Products.kernel)
        assertClose(Array(int8.prefix(Self.labels)), Array(float32.prefix(Self.labels)), atol: 0.1, rtol: 0.1, "logits, INT8 against float32")
    }
}
