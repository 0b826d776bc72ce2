import FTCore
import FTModel
import FTTrain
import Foundation

/// A site's local training: the base model with LoRA (the federation's `TrainingConfiguration`),
/// the site's own examples, and per round `num_train_epochs` epochs (or `max_steps` steps) of
/// AdamW at a constant `learning_rate` from the global adapter, with a fresh optimizer each round
/// (FedAvg's local SGD). A site with several ranks trains data-parallel over `world` (the site's
/// communicator): its leader, which talks to the coordinator, hands each round's adapter to the
/// other ranks, which follow in `follow()`. The model is an encoder with a classifier or a decoder
/// trained on SFT data (`FederatedTask`).
public final class LoRASiteTrainer: SiteTrainer {
    public let model: any SequenceModel
    public let dataset: EncodedDataset
    private let task: FederatedTask
    private let configuration: TrainingConfiguration
    private let world: TrainingWorld
    private var fedProx: FedProx
    /// The site's own initial adapter: its LoRA ranks, and the A rows that fill the components a
    /// global adapter of another rank cannot (`LoRAAggregation.fit`).
    private let initialAdapter: AdapterUpdate
    /// The loss of the last local step, for the log.
    public private(set) var lastLoss: Float = .nan

    /// - Parameters:
    ///   - labels: the federation's classes, in id order (every site maps its labels onto them);
    ///     empty for a causal LM.
    ///   - trainFile: the site's data, read only here.
    ///   - freezeA: FFA-LoRA: the A factors keep the global values and only B (and the head) train.
    ///   - proximalMu: FedProx's μ (0: plain local training).
    public init(
        configuration c: TrainingConfiguration, labels: [String], trainFile: String, world: TrainingWorld,
        freezeA: Bool = false, proximalMu: Double = 0
    ) throws {
        task = try FederatedTask(configuration: c, labels: labels)
        model = task.model
        try MixedPrecision.apply(to: model, bf16: c.bf16, log: nil)
        if freezeA {
            let names = model.tensorNames
            model.setTrainable { c.isTrainable($0, names: names) && !$0.hasSuffix(".lora_A.weight") }
        }
        dataset = try task.read(trainFile).dataset
        guard dataset.count > 0 else { throw FederationError(description: "\(trainFile): the site has no training examples") }
        configuration = c
        self.world = world
        fedProx = FedProx(mu: Float(proximalMu))
        initialAdapter = try ModelAdapterBridge.extract(from: model, examples: 0)
    }

    /// The leader's side of a round (called by `FederatedSite`).
    /// A global adapter of other LoRA ranks (the svd aggregation's heterogeneous sites) starts the
    /// round re-factorised at this site's ranks.
    public func train(from global: AdapterUpdate, round: Int) throws -> AdapterUpdate {
        try ModelAdapterBridge.apply(try LoRAAggregation.fit(global, toRanksOf: initialAdapter), to: model)
        if world.size > 1 {
            var control: [Float] = [1, Float(round)]
            try world.broadcastFromCoordinator(&control, count: 2)
            try broadcastTrainable()
        }
        try trainRound(round)
        return try ModelAdapterBridge.extract(from: model, examples: dataset.count)
    }

    /// The other ranks of a site: train each round the leader announces, until it says stop.
    public func follow() throws {
        while true {
            var control: [Float] = [0, 0]
            try world.broadcastFromCoordinator(&control, count: 2)
            guard control[0] == 1 else { return }
            try broadcastTrainable()
            try trainRound(Int(control[1]))
        }
    }

    /// The leader ends `follow()` on the other ranks.
    public func releaseFollowers() throws {
        guard world.size > 1 else { return }
        var control: [Float] = [0, 0]
        try world.broadcastFromCoordinator(&control, count: 2)
    }

    /// The leader's trainable values (the adapter it just applied) to every rank of the site.
    private func broadcastTrainable() throws {
        var buffer = model.store.trainableValues()
        try world.broadcastFromCoordinator(&buffer, count: buffer.count)
        model.store.setTrainableValues(buffer)
    }

    /// Local epochs (or steps) on this site's shard, every site rank together.
    private func trainRound(_ round: Int) throws {
        let c = configuration, ranks = world.size
        let plan = try TrainingPlan.localRound(configuration: c, trainExamples: dataset.count, ranks: ranks)
        let optimizer = AdamW(
            store: model.store, beta1: c.adamBeta1, beta2: c.adamBeta2, epsilon: c.adamEpsilon,
            weightDecay: c.weightDecay, decaying: WeightDecayMask.huggingFace(model.store))
        let stepper = try ClassificationStep(
            model: model, objective: task.objective, optimizer: optimizer, schedule: plan.schedule,
            maxGradNorm: c.maxGradNorm, accumulationScaling: task.accumulationScaling)
        stepper.firstTokenOnly = task.firstTokenOnly
        if ranks > 1 {
            stepper.gradientSynchronizer = makeGradientSynchronizer(
                world: world, model: model, overlap: c.ddpOverlapAllreduce,
                bucketCapMB: c.ddpBucketCapMB, sparseEmbeddings: c.ddpSparseEmbeddings)
            if task.accumulationScaling == .tokenWeightedMean {
                // The site's ranks divide by their mean target count, as `fttrain train` does.
                let world = world
                stepper.averageAcrossRanks = { value in
                    var mean = Float(value)  // target counts: integers, exact in float32 below 2^24
                    try world.averageInPlace(&mean, count: 1)
                    return Double(mean)
                }
            }
        }
        if fedProx.mu != 0 {
            fedProx.anchor(at: model.store)
            let proximal = fedProx
            stepper.adjustGradients = { proximal.addProximalGradient($0) }
        }
        // Every round has its own dropout stream and permutations (epoch indices round × 1000 + e).
        var progress = TrainingProgress(
            dropout: SeededRNG(
                seed: RandomStreams.siteRoundSeed(c.rngSeed, round: round),
                stream: RandomStreams.dropout(rank: world.rank)))
        let batches = EpochBatches(dataset: dataset, plan: plan, rank: world.rank, seed: c.rngSeed, padTokenId: task.padTokenId)
        while progress.step < plan.totalSteps {
            for update in batches.updates(epoch: round * 1000 + progress.epoch) {
                lastLoss = try progress.advance(through: update, stepper: stepper).loss
                if progress.step >= plan.totalSteps { break }
            }
            progress.endEpoch()
        }
    }
}
