import FTModel
import Foundation

/// A fine-tuning task as the trainer sees it: its data read, split and encoded (the data reader),
/// the head's loss (`TaskObjective`), its metrics on a split and its reports. `TrainingRun`, the
/// loop, checkpoints and the data-parallel path are written against it; sequence classification
/// is the first (`SequenceClassificationTask`), and token classification, QA, multi-label,
/// regression and causal LM are each another conforming type with its own reader and metrics.
public protocol FineTuningTask: AnyObject {
    /// Names of the head's outputs in id order (the classes): the size of the head, and what the
    /// exported `config.json` lists as `id2label`. Empty when the head is no classifier (causal
    /// LM: the language-model head over the vocabulary, which the model has already).
    var labels: [String] { get }
    /// The head's loss for the step driver.
    var objective: any TaskObjective { get }
    /// The encoded splits; validation and test may be empty.
    var train: EncodedDataset { get }
    var validation: EncodedDataset { get }
    var test: EncodedDataset { get }
    /// What the data reader found (counts, dropped rows, imbalance), for the log.
    var logLines: [String] { get }

    /// Writes the splits as the run used them into `directory` (`data/*.jsonl`), so the run can be
    /// reproduced or compared.
    func writeSplits(to directory: URL) throws
    /// The model's metrics on `dataset` with keys prefixed `prefix` (`eval_`, `test_`); collective
    /// (every rank evaluates its share and gets the same result).
    func evaluate(
        model: any SequenceModel, dataset: EncodedDataset, prefix: String, batchSize: Int,
        world: TrainingWorld
    ) throws -> TaskEvaluation
}

/// The metrics of one evaluation, and the task's reports of it.
public struct TaskEvaluation {
    /// `eval_loss`, `eval_accuracy`, ... as written to `metrics.json` and `log.jsonl`.
    public let metrics: [String: Double]
    /// Writes the reports of this evaluation into a run's output directory (the coordinator's
    /// work) and returns text for the log.
    public let writeReports: (_ output: URL) throws -> String

    public init(metrics: [String: Double], writeReports: @escaping (URL) throws -> String) {
        self.metrics = metrics
        self.writeReports = writeReports
    }
}
