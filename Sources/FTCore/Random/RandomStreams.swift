/// Every stream of `SeededRNG` that fttrain draws from, in one place: the `stream:` argument of
/// `SeededRNG(seed:stream:)` (and the seed, where it is derived). Runs replay bit for bit, and
/// resume from a checkpoint, only while these values stay what they are: never change one. A new
/// use of randomness takes a new stream here rather than sharing one by accident.
///
/// The dropout *site* keys (which mask of a step a layer uses) live with the layers in FTModel
/// (`Encoder`, `PEFT/LoRALayers`); this is about the generators.
public enum RandomStreams {
    /// Stream 0, `SeededRNG(seed:)`'s default. Used with the run's own seed, each by one
    /// consumer: the stratified train/validation/test split (`StratifiedSplit`), random
    /// oversampling (`RandomOversampling`), a new head's initialisation (`EncoderModel.load`), a federated site's privacy noise (`FederatedSite`, seeded
    /// from entropy in real runs), `fttrain bench`'s random batches (seed 1234 + rank).
    public static let base: UInt64 = 0

    /// Per-rank dropout seeds: each step draws its dropout seed from this stream of `rank`
    /// (`TrainingRun`; `LoRASiteTrainer` with `siteRoundSeed`). Its state is saved in every
    /// checkpoint's `rng_state_<rank>.json`.
    public static func dropout(rank: Int) -> UInt64 { 0xD0 &+ UInt64(rank) }

    /// LoRA's A matrices at initialisation ("LoRA" in ASCII), apart from the head's: `PEFTTraining`
    /// (with the run's seed) and `fttrain bench --mode lora` (seed 0).
    public static let loraInitialization: UInt64 = 0x4C6F_5241

    /// Bottleneck adapters at initialisation (`PEFTTraining`).
    public static let adapterInitialization: UInt64 = 0xADA9_7E55

    /// The order of examples in `epoch` (`EpochOrder.permutation`): one stream per epoch, so any
    /// epoch's order is replayed on resume without drawing the ones before it.
    public static func epochPermutation(epoch: Int) -> UInt64 { 0x5A17_0000 &+ UInt64(epoch) }

    /// The sites taking part in federated `round` (`SiteSampler`), so a resumed federation samples
    /// the same sites.
    public static func federatedRound(_ round: Int) -> UInt64 { 0xFED0_0000 &+ UInt64(round) }

    /// The assignment of rows to sites (`SitePartition.assign`, `fttrain partition`).
    public static let sitePartition: UInt64 = 0x9A27

    /// The seed of a federated site's dropout stream in `round` (`LoRASiteTrainer`): the run's
    /// seed mixed with the round, so rounds differ (used with `dropout(rank:)`).
    public static func siteRoundSeed(_ seed: UInt64, round: Int) -> UInt64 { seed ^ UInt64(round) &* 0x9E37_79B9 }
}
