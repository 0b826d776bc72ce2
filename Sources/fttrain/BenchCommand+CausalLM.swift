import ArgumentParser
import FTCore
import FTModel
import FTTrain
import Foundation

/// `fttrain bench` on a decoder (a Llama `.gguf` file or directory), with the semantics of the
/// PyTorch anchor `scripts/anchors/torch_llm_bench.py`:
///
/// - `lora`: PEFT's LoRA r 8, alpha 16, no dropout, on q/k/v/o/gate/up/down (everything else
///   frozen), one AdamW step (lr 2e-4, torch's defaults) on B × T random ids, next-token loss over
///   every position (labels = the ids, shifted as `LlamaForCausalLM` shifts them);
/// - `full`: the same step with every tensor trained;
/// - `infer`: one forward over B × T ids (no cache);
/// - `generate`: greedy decoding from a `--prompt-tokens` random prompt with the key/value cache:
///   prefill = the time of the prompt's pass and the first token (as the anchor times
///   `generate(max_new_tokens=1)`), decode = the time of the `--new-tokens` run after its first
///   token / (new − 1) — what the anchor's (time of N − prefill) / (N − 1) estimates.
///
/// Ids are in 1000 ..< vocabulary (seeded), `--warmup` untimed steps, then the median of `--steps`.
extension BenchCommand {
    /// Whether `url` names a decoder this command benches as a causal language model.
    static func isCausalLanguageModel(_ url: URL) -> Bool {
        if url.pathExtension.lowercased() == "gguf" { return true }
        let configPath = url.appendingPathComponent("config.json").path
        guard let json = try? ModelRegistry.readConfigJSON(path: configPath) else { return false }
        return ModelRegistry.isLlama(json)
    }

    /// The anchor's LoRA: r 8, alpha 16, no dropout, on the seven projections, no modules to save.
    static let causalLoRA = LoRAConfiguration(
        rank: 8, alpha: 16, dropout: 0,
        targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], modulesToSave: [])

    func measureCausalLanguageModel(world: TrainingWorld) throws {
        let setup = mode == .lora ? PEFTSetup(lora: Self.causalLoRA) : nil
        guard let network = try ModelRegistry.loadCausalLanguageModel(path: model.path, peft: setup) else {
            throw ValidationError("--model-dir \(model.path) is not a causal language model")
        }
        if let setup, let lora = setup.lora, let branches = network.peft?.loraBranches {
            var initializer = SeededRNG(seed: 0, stream: RandomStreams.loraInitialization)
            branches.initialize(rng: &initializer)
            let names = network.tensorNames
            network.setTrainable { lora.isTrainable($0, names: names) }
        } else if mode == .full {
            network.setTrainable { _ in true }
        }
        let vocabulary = network.vocabularySize
        var rng = SeededRNG(seed: 1234 &+ UInt64(world.rank), stream: RandomStreams.base)
        let low = min(1000, vocabulary - 1)
        func randomIds(_ count: Int) -> [Int32] {
            (0..<count).map { _ in Int32(low + Int(rng.next(upperBound: UInt64(vocabulary - low)))) }
        }
        var record: [String: Any] = [
            "mode": mode.rawValue, "threads": Parallel.threadCount, "world": world.size,
            "params": network.store.count, "trainable": network.store.trainableCount, "model": network.architectureName,
        ]
        var times: [Double] = []
        switch mode {
        case .generate:
            let P = promptTokens, N = newTokens
            guard P + N <= network.maxSequenceLength else {
                throw ValidationError(
                    "--prompt-tokens \(P) + --new-tokens \(N) exceeds the model's max_position_embeddings \(network.maxSequenceLength)")
            }
            let prompt = randomIds(P)
            let cache = try network.makeCache(capacity: P + N)
            var prefills: [Double] = [], decodes: [Double] = [], generated: [Int32] = []
            for i in 0..<(warmup + steps) {
                let t0 = Self.now()
                _ = try Self.greedy(network, cache: cache, prompt: prompt, newTokens: 1)
                let t1 = Self.now()
                var firstToken = t1
                generated = try Self.greedy(network, cache: cache, prompt: prompt, newTokens: N) { firstToken = Self.now() }
                let t2 = Self.now()
                if i >= warmup {
                    prefills.append(t1 - t0)
                    times.append(t2 - t1)
                    decodes.append(t2 - firstToken)
                }
            }
            // Decode is timed inside the N-token run, after its first token: the anchor's difference
            // of two medians can come out negative on a small model on a busy machine.
            let prefill = Self.median(prefills), decode = Self.median(decodes)
            record["prompt_tokens"] = P
            record["new_tokens"] = N
            record["generated_tokens"] = generated.count
            record["prefill_ms"] = prefill * 1e3
            record["prefill_tokens_per_s"] = Double(P) / prefill
            record["decode_ms_per_token"] = decode / Double(N - 1) * 1e3
            record["decode_tokens_per_s"] = Double(N - 1) / decode
        case .infer:
            let B = batch ?? 4, T = seq
            try checkSequence(T, network)
            let ids = randomIds(B * T), mask = [Int32](repeating: 1, count: B * T), types = mask.map { _ in Int32(0) }
            for i in 0..<(warmup + steps) {
                let started = Self.now()
                _ = try network.forward(
                    inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T, training: false,
                    dropoutSeed: 0, firstTokenOnly: false)
                if i >= warmup { times.append(Self.now() - started) }
            }
            let median = Self.median(times)
            record["batch_per_rank"] = B
            record["seq"] = T
            record["gflop_per_step"] = network.flops(batch: B, sequence: T, firstTokenOnly: false).forward / 1e9
            record["gflops_achieved"] = network.flops(batch: B, sequence: T, firstTokenOnly: false).forward / 1e9 / median
            record["tokens_per_s"] = Double(B * T) / median
            record["step_ms_median"] = median * 1e3
        case .full, .lora:
            let B = batch ?? 4, T = seq
            try checkSequence(T, network)
            let ids = randomIds(B * T), mask = [Int32](repeating: 1, count: B * T), types = mask.map { _ in Int32(0) }
            // The anchor's labels = input ids (the objective shifts them: position t predicts t + 1).
            let objective = try CausalLanguageModelingObjective(vocabularySize: vocabulary)
            // One (B, T, V) gradient buffer, as the trainer's step driver keeps.
            let dLogits = UnsafeMutablePointer<Float>.allocate(capacity: B * T * vocabulary)
            defer { dLogits.deallocate() }
            // torch.optim.AdamW's defaults (weight decay 0.01 on every trained tensor), the anchor's lr.
            let optimizer = AdamW(store: network.store, weightDecay: 0.01, decaying: network.store.trainableViews)
            var lastLoss = 0.0
            for i in 0..<(warmup + steps) {
                let started = Self.now()
                network.store.zeroGradients()
                let outputs = try network.forward(
                    inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T, training: true,
                    dropoutSeed: UInt64(i), firstTokenOnly: false)
                let loss = objective.loss(outputs: outputs.logits!, targets: ids, batch: B, sequence: T, dOutputs: dLogits)
                network.backward(dLogits: dLogits, dPooled: nil, dLastHiddenState: nil, gradientsReady: nil)
                optimizer.step(network.store, learningRate: 2e-4)
                if i >= warmup { times.append(Self.now() - started) }
                lastLoss = Double(loss)
            }
            let median = Self.median(times)
            let flops = network.flops(batch: B, sequence: T, firstTokenOnly: false).trainingStep
            record["batch_per_rank"] = B
            record["seq"] = T
            record["gflop_per_step_per_rank"] = flops / 1e9
            record["gflops_achieved_total"] = Double(world.size) * flops / 1e9 / median
            record["tokens_per_s"] = Double(world.size * B * T) / median
            record["samples_per_s"] = Double(world.size * B) / median
            record["step_ms_median"] = median * 1e3
            record["last_loss"] = lastLoss
        case .sgemm:
            preconditionFailure("handled by measure(world:)")
        }
        record["steps"] = times.count
        record["step_ms_min"] = (times.min() ?? 0) * 1e3
        record["peak_rss_mb"] = Self.peakResidentMegabytes()
        guard world.isCoordinator else { return }
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    private func checkSequence(_ T: Int, _ network: any CausalLanguageModel) throws {
        guard T <= network.maxSequenceLength else {
            throw ValidationError("--seq \(T) exceeds the model's max_position_embeddings \(network.maxSequenceLength)")
        }
    }

    /// Greedy decoding of `newTokens` tokens after `prompt` from an emptied cache (no stop on EOS,
    /// as the anchor's `min_new_tokens`): the prompt in one pass, then one token per pass.
    static func greedy(
        _ network: any CausalLanguageModel, cache: any KeyValueCache, prompt: [Int32], newTokens: Int,
        afterFirstToken: () -> Void = {}
    ) throws -> [Int32] {
        cache.reset()
        let V = network.vocabularySize
        var logits = try prompt.withUnsafeBufferPointer { try network.extend(cache: cache, tokens: $0) }
        var generated: [Int32] = []
        generated.reserveCapacity(newTokens)
        while true {
            var best = 0
            for j in 1..<V where logits[j] > logits[best] { best = j }
            generated.append(Int32(best))
            if generated.count == 1 { afterFirstToken() }
            if generated.count == newTokens { return generated }
            var token = Int32(best)
            logits = try withUnsafePointer(to: &token) {
                try network.extend(cache: cache, tokens: UnsafeBufferPointer(start: $0, count: 1))
            }
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
