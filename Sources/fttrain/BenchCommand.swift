import ArgumentParser
import FTCore
import FTDist
import FTDistTraining
import FTModel
import FTTrain
import Foundation

/// `fttrain bench`: the speed of one training step (or one inference batch) with the semantics of
/// the PyTorch anchor `../shared/anchors/torch_bench.py`: random token ids in 1000 ..< vocabulary,
/// every position attended, dropout on, AdamW at a constant 2e-5, `--warmup` untimed steps, then
/// the median of `--steps`. Prints one JSON line. Under `mpirun` every rank trains on its own
/// random batch, gradients are averaged as in `fttrain train`, and rank 0 prints the totals.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training steps or inference batches on random tokens (one JSON line).")

    enum Mode: String, ExpressibleByArgument, CaseIterable { case full, lora, infer, sgemm, generate }

    /// The arithmetic of the model's products, as the anchor's `--precision`: fp32, bf16 (bf16
    /// operands, float32 accumulation: `torch.autocast`'s), int8 (dynamic quantisation; inference).
    enum Precision: String, ExpressibleByArgument, CaseIterable { case fp32, bf16, int8 }

    @OptionGroup var model: ModelDirectoryOption

    @Option(
        help:
            "full (fine-tuning step) | lora (LoRA r 8, alpha 16, on query and value, as the anchor; on a decoder: on q/k/v/o/gate/up/down) | infer (forward only) | sgemm (OpenBLAS's peak on --seq-sized square matrices, e.g. --seq 2048) | generate (a decoder's greedy generation: prefill and decode tokens/s)."
    )
    var mode: Mode = .full

    @Option(
        help:
            "fp32 | bf16 (products on bf16 operands with float32 accumulation, as torch.autocast; float32 where the CPU lacks avx512_bf16) | int8 (--mode infer: the layers' products dynamically quantised, as PyTorch's quantize_dynamic; a directory written by `fttrain quantize` infers in INT8 anyway)."
    )
    var precision: Precision = .fp32

    @Option(help: "Examples per rank (default 32 for full, 64 for infer).")
    var batch: Int?

    @Option(help: "Tokens per example.")
    var seq: Int = 128

    @Option(help: "--mode generate: tokens of the random prompt.")
    var promptTokens: Int = 128

    @Option(help: "--mode generate: tokens generated after the prompt (at least 2).")
    var newTokens: Int = 64

    @Option(help: "Timed steps; the median is reported.")
    var steps: Int = 10

    @Option(help: "Untimed warm-up steps.")
    var warmup: Int = 3

    @Option(
        help: "Threads fttrain computes on, each running single-threaded OpenBLAS (default: FTTRAIN_THREADS, OPENBLAS_NUM_THREADS, else all cores).")
    var threads: Int?

    @Option(help: "Under mpirun: overlap the all-reduce with backward (true) or run it after backward (false).")
    var overlap: Bool = true

    @Option(help: "Under mpirun: MiB of gradients per all-reduce bucket.")
    var bucketCapMb: Double = 25

    @Option(help: "Under mpirun: average only the word-embedding rows the batches used.")
    var sparseEmbeddings: Bool = true

    @Flag(help: "Compute every token's row of the last layer, as PyTorch does (by default only the first token's, which is all the logits read).")
    var allTokens = false

    @Flag(
        help:
            "--mode full|lora: every other timed step records train's --trace timeline (per-layer spans included); reports both medians and the overhead."
    )
    var traceOverhead = false

    func validate() throws {
        if let batch, batch < 1 { throw ValidationError("--batch must be positive, got \(batch)") }
        if seq < 1 { throw ValidationError("--seq must be positive, got \(seq)") }
        if steps < 1 { throw ValidationError("--steps must be positive, got \(steps)") }
        if warmup < 0 { throw ValidationError("--warmup must be non-negative, got \(warmup)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
        if promptTokens < 1 { throw ValidationError("--prompt-tokens must be positive, got \(promptTokens)") }
        if newTokens < 2 { throw ValidationError("--new-tokens must be at least 2 (decode is timed after the first), got \(newTokens)") }
        if !(bucketCapMb > 0) { throw ValidationError("--bucket-cap-mb must be positive, got \(bucketCapMb)") }
        if precision == .int8 && mode != .infer { throw ValidationError("--precision int8 is for --mode infer (INT8 is an inference format)") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        guard MPICommunicator.isLaunchedByMPIRun else {
            try measure(world: SingleProcessWorld())
            return
        }
        let communicator = try MPICommunicator.initialize()
        do {
            communicator.timeout = 600
            try measure(world: CommunicatorWorld(communicator: communicator))
            try communicator.finalize()
        } catch {
            FileHandle.standardError.write("Error (rank \(communicator.rank)): \(error)\n".data(using: .utf8)!)
            communicator.abort(errorCode: 1)
        }
    }

    private func measure(world: TrainingWorld) throws {
        if mode == .sgemm { return try measureMatrixProduct(size: seq) }
        // A decoder: BenchCommand+CausalLM.swift.
        if Self.isCausalLanguageModel(model.url) {
            guard precision == .fp32 else { throw ValidationError("--precision \(precision.rawValue): a decoder runs in float32 only (yet)") }
            return try measureCausalLanguageModel(world: world)
        }
        if mode == .generate { throw ValidationError("--mode generate needs a decoder (a Llama .gguf file or directory)") }
        let labels = 3
        // The anchor's LoRA: PEFT's LoraConfig(r=8, lora_alpha=16, target_modules=["query", "value"]), head trained.
        let lora = mode == .lora ? PEFTSetup(lora: LoRAConfiguration(rank: 8, alpha: 16)) : nil
        let network = try ModelRegistry.load(modelDirectory: model.url, numLabels: labels, seed: 0, peft: lora)
        if precision == .bf16 { try MixedPrecision.apply(to: network, bf16: true, log: nil) }
        if precision == .int8 {
            guard let encoder = network as? EncoderModel else {
                throw ValidationError("--precision int8: only encoder models (BERT, DistilBERT) have INT8 products")
            }
            if !encoder.isQuantized { encoder.quantizeForInference() }
        }
        // Inference as predict and serve run it: float32 products on prepared weights.
        if mode == .infer && precision == .fp32 { (network as? EncoderModel)?.prepareForInference() }
        if let lora, let layers = network.peft?.loraBranches {
            var initializer = SeededRNG(seed: 0, stream: RandomStreams.loraInitialization)
            layers.initialize(rng: &initializer)
            let names = network.tensorNames
            network.setTrainable { lora.isTrainable($0, names: names) }
        }
        let B = batch ?? (mode == .infer ? 64 : 32), T = seq, vocabulary = network.vocabularySize
        guard T <= network.maxSequenceLength else {
            throw ValidationError("--seq \(T) exceeds the model's max_position_embeddings \(network.maxSequenceLength)")
        }
        // The anchor's inputs: ids in 1000 ..< vocab, no padding, labels in 0 ..< 3, a seed per rank.
        var rng = SeededRNG(seed: 1234 &+ UInt64(world.rank), stream: RandomStreams.base)
        let low = min(1000, vocabulary - 1)
        let ids = (0..<(B * T)).map { _ in Int32(low + Int(rng.next(upperBound: UInt64(vocabulary - low)))) }
        let batchInput = ClassificationStep.Batch(
            inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: B * T), attentionMask: [Int32](repeating: 1, count: B * T),
            labels: (0..<B).map { _ in Int32(rng.next(upperBound: UInt64(labels))) }, sequenceLength: T)

        var record: [String: Any] = [
            "mode": mode.rawValue, "threads": Parallel.threadCount, "world": world.size,
            "bf16_instructions": precision == .bf16 && BF16Products.usesBF16Instructions,
            "batch_per_rank": B, "seq": T, "params": network.store.count,
            "trainable": network.store.trainableCount,
        ]
        // A directory written by `fttrain quantize` infers in INT8 whatever --precision says.
        if let encoder = network as? EncoderModel, encoder.isQuantized {
            record["precision"] = Precision.int8.rawValue
            record["int8_kernel"] = Int8Products.kernel.rawValue
        } else {
            record["precision"] = precision.rawValue
        }
        let firstTokenOnly = !allTokens && network.computesFirstTokensOnly
        // The anchor's count (every row) and what fttrain computes.
        let anchorFLOPs = network.flops(batch: B, sequence: T, firstTokenOnly: false)
        let computedFLOPs = network.flops(batch: B, sequence: T, firstTokenOnly: firstTokenOnly)
        record["first_token_only"] = firstTokenOnly
        var times: [Double] = [], waits: [Double] = []
        var lastLoss: Float = 0
        switch mode {
        case .infer:
            for i in 0..<(warmup + steps) {
                let started = DispatchTime.now().uptimeNanoseconds
                _ = try network.forward(
                    inputIds: batchInput.inputIds, tokenTypeIds: batchInput.tokenTypeIds,
                    attentionMask: batchInput.attentionMask, batch: B, sequence: T, training: false,
                    dropoutSeed: 0, firstTokenOnly: !allTokens)
                if i >= warmup { times.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
            }
            let median = Self.median(times)
            record["gflop_per_step"] = anchorFLOPs.forward / 1e9
            record["gflop_computed_per_step"] = computedFLOPs.forward / 1e9
            record["gflops_achieved"] = computedFLOPs.forward / 1e9 / median
            record["samples_per_s"] = Double(B) / median
            record["step_ms_median"] = median * 1e3
        case .sgemm, .generate:
            preconditionFailure("handled above")
        case .full, .lora:
            let schedule = LearningRateSchedule(type: .constant, baseLearningRate: 2e-5, trainingSteps: warmup + steps)
            // torch.optim.AdamW's defaults: weight decay 0.01 on every parameter.
            let optimizer = AdamW(store: network.store, weightDecay: 0.01, decaying: network.store.trainableViews)
            let stepper = try ClassificationStep(
                model: network, optimizer: optimizer, schedule: schedule, maxGradNorm: 0,
                accumulationScaling: .meanOfMicroBatchMeans)
            stepper.firstTokenOnly = !allTokens
            if world.size > 1 {
                let synchronizer = makeGradientSynchronizer(
                    world: world, model: network, overlap: overlap,
                    bucketCapMB: bucketCapMb, sparseEmbeddings: sparseEmbeddings)
                stepper.gradientSynchronizer = synchronizer
                record["overlap"] = overlap
                record["buckets"] = synchronizer.buckets.ranges.count
                record["sparse_embeddings"] = sparseEmbeddings
            }
            // --trace-overhead: odd steps traced, even ones not, so drift in the machine's load hits both alike.
            let tracer = traceOverhead ? Tracer(rank: world.rank) : nil
            var tracedTimes: [Double] = []
            var stepSeconds: [Double] = []  // every step, warm-up included, for the paired overhead
            for i in 0..<(warmup + steps) {
                let traced = tracer != nil && i % 2 == 1
                Tracer.current = traced ? tracer : nil
                let started = DispatchTime.now().uptimeNanoseconds
                let result = try stepper.step([batchInput], dropoutSeed: UInt64(i))
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                stepSeconds.append(seconds)
                if i >= warmup && traced {
                    tracedTimes.append(seconds)
                } else if i >= warmup {
                    times.append(seconds)
                    waits.append(result.synchronizationSeconds)
                }
                lastLoss = result.loss
            }
            Tracer.current = nil
            let median = Self.median(times)
            if let tracer, !tracedTimes.isEmpty {
                let traced = Self.median(tracedTimes), tracedSteps = (warmup + steps) / 2
                record["step_ms_median_traced"] = traced * 1e3
                record["trace_overhead"] = (traced - median) / median
                // Paired: each traced step against the mean of its untraced neighbours, median over
                // the pairs — load that drifts over seconds cancels, which the two medians do not do.
                var ratios: [Double] = []
                for i in stride(from: warmup + (warmup % 2 == 1 ? 0 : 1), to: stepSeconds.count - 1, by: 2) where i - 1 >= warmup {
                    ratios.append(stepSeconds[i] / ((stepSeconds[i - 1] + stepSeconds[i + 1]) / 2) - 1)
                }
                if !ratios.isEmpty { record["trace_overhead_paired"] = Self.median(ratios) }
                record["trace_spans_per_step"] = Double(tracer.spans.count) / Double(tracedSteps)
            }
            record["gflop_per_step_per_rank"] = anchorFLOPs.trainingStep / 1e9
            record["gflop_computed_per_step_per_rank"] = computedFLOPs.trainingStep / 1e9
            record["gflops_achieved_total"] = Double(world.size) * computedFLOPs.trainingStep / 1e9 / median
            record["samples_per_s"] = Double(world.size * B) / median
            record["step_ms_median"] = median * 1e3
            record["last_loss"] = Double(lastLoss)
            if world.size > 1 {
                let wait = Self.median(waits)
                record["allreduce_wait_ms_median"] = wait * 1e3
                record["allreduce_wait_share"] = waits.reduce(0, +) / times.reduce(0, +)
            }
        }
        record["steps"] = times.count
        record["step_ms_min"] = (times.min() ?? 0) * 1e3
        // Peak memory: this rank's, and under mpirun the sum over ranks.
        var peak = Float(Self.peakResidentMegabytes())
        record["peak_rss_mb"] = Double(peak)
        if world.size > 1 {
            try world.averageInPlace(&peak, count: 1)
            record["peak_rss_mb_total"] = Double(peak) * Double(world.size)
        }
        guard world.isCoordinator else { return }
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// The sgemm ceiling of this machine at the configured threads: `size`³ products, the median
    /// of `--steps` after `--warmup`, in GFLOP/s (2·n³ per product).
    private func measureMatrixProduct(size n: Int) throws {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n), b = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        defer {
            a.deallocate()
            b.deallocate()
            c.deallocate()
        }
        for i in 0..<(n * n) {
            a[i] = Float(i % 13) * 0.01
            b[i] = Float(i % 7) * 0.01
            c[i] = 0
        }
        BLAS.threadCount = Parallel.threadCount
        var times: [Double] = []
        for i in 0..<(warmup + steps) {
            let started = DispatchTime.now().uptimeNanoseconds
            BLAS.sgemm(transA: false, transB: true, m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, beta: 0, c: c, ldc: n)
            if i >= warmup { times.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
        }
        let median = Self.median(times), flop = 2 * Double(n) * Double(n) * Double(n)
        let record: [String: Any] = [
            "mode": "sgemm", "size": n, "threads": Parallel.threadCount, "steps": times.count,
            "step_ms_median": median * 1e3, "gflops_achieved": flop / 1e9 / median,
        ]
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// VmHWM from /proc/self/status, in MB (10^6 bytes, as `/usr/bin/time` reports kB).
    static func peakResidentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return 0 }
        return kilobytes * 1024 / 1e6
    }
}
