import FTModel
import Foundation

/// A task with work of its own between training and the final evaluation, and files of its own
/// in the exported model: multi-label's threshold tuning on the validation split and its
/// `thresholds.json` (`ProblemTypeTask`).
public protocol TaskFinishing: FineTuningTask {
    /// Called on every rank once training is over (the best model restored), before the final
    /// evaluation; collective as `evaluate` is.
    func finishTraining(model: any SequenceModel, batchSize: Int, world: TrainingWorld, log: TrainingLog) throws
    /// The coordinator's work: writes the task's files into an exported model or adapter directory.
    func writeModelFiles(to directory: URL) throws
}

extension TrainingRun {
    /// `TaskFinishing.writeModelFiles` into the run's `model/` and `adapter/` (those written).
    func writeTaskFiles(_ task: any FineTuningTask, output: URL) throws {
        guard let finishing = task as? any TaskFinishing else { return }
        for name in ["model", "adapter"] {
            let directory = output.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue {
                try finishing.writeModelFiles(to: directory)
            }
        }
    }
}
