import FTCore
@testable import FTModel
import Foundation

/// The smallest real causal language model: the logits of position t are row `ids[t]` of a (V, V)
/// table, so it learns next-token statistics. It trains, checkpoints and generates through the
/// same interfaces as a Llama (`SequenceModel`, `CausalLanguageModel`), which lets the causal-LM
/// task, `TrainingRun` and generation be tested end to end in milliseconds.
public final class BigramLanguageModel: CausalLanguageModel, @unchecked Sendable {
    public static let tableName = "lm_head.weight"
    public let store: ParameterStore
    public let vocabularySize: Int
    public let maxSequenceLength: Int
    private var logits: UnsafeMutablePointer<Float>
    private var logitsCapacity = 0
    private var lastIds: [Int32] = []

    public init(vocabularySize V: Int, maxSequenceLength: Int = 64, seed: UInt64 = 1) {
        vocabularySize = V
        self.maxSequenceLength = maxSequenceLength
        store = ParameterStore(layout: [(Self.tableName, [V, V])])
        logits = .allocate(capacity: 1)
        var rng = SeededRNG(seed: seed)
        initializeRandomly(rng: &rng, standardDeviation: 0.02, only: nil)
    }

    deinit { logits.deallocate() }

    public var numLabels: Int { 0 }
    public var peft: PEFTModules? { nil }
    public var tensorNames: any ModelTensorNaming { EncoderFamily.bert.names }
    public var peftTaskType: String { "CAUSAL_LM" }
    public var architectureName: String { "BigramForCausalLM" }
    public var layerCount: Int { 0 }
    public var hiddenSize: Int { vocabularySize }
    public var computesFirstTokensOnly: Bool { false }
    public var trainableParameterCount: TrainableParameterCount { TrainableParameterCount(trainable: store.trainableCount, all: store.count) }

    private func ensureLogits(_ n: Int) {
        if n > logitsCapacity {
            logits.deallocate()
            logits = .allocate(capacity: n)
            logitsCapacity = n
        }
    }

    public func forward(
        inputIds: UnsafePointer<Int32>, tokenTypeIds: UnsafePointer<Int32>, attentionMask: UnsafePointer<Int32>,
        batch: Int, sequence: Int, training: Bool, dropoutSeed: UInt64, firstTokenOnly: Bool
    ) throws -> ModelOutputs {
        let V = vocabularySize, n = batch * sequence
        if let bad = (0..<n).first(where: { inputIds[$0] < 0 || Int(inputIds[$0]) >= V }) {
            throw ModelError.badInput("token id \(inputIds[bad]) outside the vocabulary")
        }
        ensureLogits(n * V)
        let table = store.value(Self.tableName)
        for r in 0..<n { (logits + r * V).update(from: table + Int(inputIds[r]) * V, count: V) }
        lastIds = Array(UnsafeBufferPointer(start: inputIds, count: n))
        return ModelOutputs(lastHiddenState: UnsafePointer(logits), pooled: nil, logits: UnsafePointer(logits))
    }

    public func backward(
        dLogits: UnsafePointer<Float>?, dPooled: UnsafePointer<Float>?, dLastHiddenState: UnsafePointer<Float>?,
        gradientsReady: ((Int) -> Void)?
    ) {
        let V = vocabularySize
        if let dLogits, let gradient = store.gradient(Self.tableName) {
            for (r, id) in lastIds.enumerated() {
                let row = gradient + Int(id) * V
                for j in 0..<V { row[j] += dLogits[r * V + j] }
            }
        }
        gradientsReady?(0)
    }

    public func setTrainable(_ isTrainable: (String) -> Bool) { store.setTrainable(isTrainable) }

    public func initializeRandomly(rng: inout SeededRNG, standardDeviation: Float, only: Set<String>?) {
        let table = store.value(Self.tableName)
        for i in 0..<(vocabularySize * vocabularySize) { table[i] = rng.nextNormal() * standardDeviation }
    }

    public func exportConfig(base: [String: Any], labels: [String]) -> [String: Any] {
        var config = base
        config["architectures"] = [architectureName]
        return config
    }

    public func flops(batch: Int, sequence: Int, firstTokenOnly: Bool) -> ModelFLOPs { ModelFLOPs(forward: 0, trainingStep: 0) }

    final class Cache: KeyValueCache {
        var count = 0
        let capacity: Int
        init(capacity: Int) { self.capacity = capacity }
        func reset() { count = 0 }
    }

    public func makeCache(capacity: Int) throws -> any KeyValueCache { Cache(capacity: capacity) }

    public func extend(cache: any KeyValueCache, tokens: UnsafeBufferPointer<Int32>) throws -> UnsafePointer<Float> {
        guard let cache = cache as? Cache, cache.count + tokens.count <= cache.capacity, let last = tokens.last else {
            throw ModelError.badInput("the tokens do not fit the cache")
        }
        guard last >= 0 && Int(last) < vocabularySize else { throw ModelError.badInput("token id \(last) outside the vocabulary") }
        cache.count += tokens.count
        ensureLogits(vocabularySize)
        logits.update(from: store.value(Self.tableName) + Int(last) * vocabularySize, count: vocabularySize)
        return UnsafePointer(logits)
    }

    /// A model directory the registry recognises as a decoder (`config.json` naming `BigramForCausalLM`).
    public static func writeDirectory(to directory: URL, vocabularySize: Int) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config: [String: Any] = ["architectures": ["BigramForCausalLM"], "vocab_size": vocabularySize]
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
    }
}
