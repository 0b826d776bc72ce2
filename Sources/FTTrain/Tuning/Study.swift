import Foundation

/// A trial handed out to run: its number and its sampled settings.
public struct TrialAssignment: Sendable, Equatable {
    public var number: Int
    public var parameters: [String: ParameterValue]

    public init(number: Int, parameters: [String: ParameterValue]) {
        self.number = number
        self.parameters = parameters
    }
}

/// The study's book-keeping, held by one process (rank 0 under `mpirun`): which trials are
/// ended (`DIR/study.jsonl`), which are running, the sampler and the ASHA rungs.
///
/// Resume: a new `Study` on the same directory reads `study.jsonl`; its trials are never run
/// again, the rungs are refilled from their records, and a trial that was running when the study
/// was killed (no line) is handed out again under its number, its directory started afresh. With
/// `inputs`, a resume whose search space or base configuration file changed is refused
/// (`StudyInputs`, `DIR/study-inputs.json`).
public final class Study {
    public let space: SearchSpace
    public let directory: URL
    public let totalTrials: Int
    public private(set) var records: [TrialRecord]
    /// Trials handed out and not ended, by number.
    public private(set) var running: [Int: TrialAssignment] = [:]
    private let sampler: any ParameterSampler
    private var pruner: SuccessiveHalving?

    public var studyFile: URL { directory.appendingPathComponent("study.jsonl") }

    /// - Parameter inputs: the files `space` and the base configuration were read from, recorded
    ///   in a new study and checked against the record on a resume (nil: neither).
    /// - Throws: `ConfigurationError` when `study.jsonl` is malformed, or `inputs` differ from the record.
    public init(space: SearchSpace, directory: URL, trials: Int, inputs: StudyInputs? = nil) throws {
        self.space = space
        self.directory = directory
        totalTrials = trials
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try inputs?.recordOrCheck(in: directory)
        records = try TrialRecord.readStudy(directory.appendingPathComponent("study.jsonl"))
        sampler = space.makeSampler()
        if space.pruner == .asha {
            var halving = SuccessiveHalving(
                minResource: space.minResource, reductionFactor: space.reductionFactor, direction: space.direction)
            for record in records {
                for (resource, value) in record.rungs { halving.restore(trial: record.number, resource: resource, value: value) }
            }
            pruner = halving
        }
    }

    /// The next trial to run (the lowest number neither ended nor running), sampled from the
    /// ended trials; nil when every trial is ended or running.
    public func claim() -> TrialAssignment? {
        let ended = Set(records.map(\.number))
        guard let number = (0..<totalTrials).first(where: { !ended.contains($0) && running[$0] == nil }) else { return nil }
        let history = records.compactMap(\.observation)
        let assignment = TrialAssignment(number: number, parameters: sampler.sample(trial: number, history: history))
        running[number] = assignment
        return assignment
    }

    /// Whether every trial has ended.
    public var isFinished: Bool { records.count >= totalTrials && running.isEmpty }

    /// Told every ASHA decision at a rung, in the order they were taken:
    /// `asha: trial-0003 evaluation 2 value 0.6875 -> stop` (or `-> continue`), so a log shows
    /// what each trial was compared with (scripts/mpi_tune_check.sh replays them).
    public var decisionLog: ((String) -> Void)?

    /// Trial `number` reached `evaluation` evaluations with metric `value`: true when ASHA stops it.
    public func report(trial number: Int, evaluation: Int, value: Double) -> Bool {
        guard var halving = pruner else { return false }
        let stop = halving.report(trial: number, resource: evaluation, value: value)
        pruner = halving
        if halving.rung(atResource: evaluation) != nil {
            decisionLog?(
                "asha: \(TrialRecord.directoryName(number)) evaluation \(evaluation) value \(value) -> \(stop ? "stop" : "continue")")
        }
        return stop
    }

    /// The ASHA rung resource that `evaluation` is, if any (for the record's `rungs`).
    public func isRung(_ evaluation: Int) -> Bool { pruner?.rung(atResource: evaluation) != nil }

    /// Records an ended trial: a line appended to `study.jsonl` (flushed before returning).
    public func finish(_ record: TrialRecord) throws {
        running[record.number] = nil
        let line = try record.jsonLine() + "\n"
        // Kept as read back from its line, so a resumed study learns from exactly what an
        // uninterrupted one learnt from.
        let stored = try TrialRecord(jsonLine: line, source: studyFile.path, line: records.count + 1)
        records.removeAll { $0.number == record.number }
        records.append(stored)
        records.sort { $0.number < $1.number }
        if !FileManager.default.fileExists(atPath: studyFile.path),
            !FileManager.default.createFile(atPath: studyFile.path, contents: nil)
        {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: studyFile.path])
        }
        let handle = try FileHandle(forWritingTo: studyFile)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
        try handle.synchronize()
    }

    /// The best complete trial in the study's direction.
    public var best: TrialRecord? {
        records.filter { $0.state == .complete && $0.value.map { !$0.isNaN } == true }
            .reduce(nil) { (best: TrialRecord?, record) in
                guard let b = best else { return record }
                return space.isBetter(record.value!, than: b.value!) ? record : b
            }
    }

    /// The summary table (Markdown): a row per trial with its settings, the metric at each rung,
    /// the final metric and the seconds; then the best trial.
    public func summary() -> String {
        let names = space.parameters.map(\.name)
        let resources = Set(records.flatMap { $0.rungs.keys }).sorted()
        var header = ["trial", "state"] + names + resources.map { "rung \($0)" } + [space.metric, "seconds"]
        header[0] = "trial"
        var lines = ["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: header.count)]
        let bestNumber = best?.number
        for r in records {
            var row = [TrialRecord.directoryName(r.number) + (r.number == bestNumber ? " **best**" : ""), r.state.rawValue]
            row += names.map { r.parameters[$0]?.displayText ?? "" }
            row += resources.map { r.rungs[$0].map { String(format: "%.4f", $0) } ?? "" }
            row.append(r.value.map { String(format: "%.4f", $0) } ?? "")
            row.append(String(format: "%.0f", r.seconds))
            lines.append("| " + row.joined(separator: " | ") + " |")
        }
        let counts = TrialRecord.State.allCases.map { state in "\(records.filter { $0.state == state }.count) \(state.rawValue)" }
        lines.append("")
        lines.append("\(records.count) of \(totalTrials) trials ended: " + counts.joined(separator: ", ") + ".")
        if let b = best {
            lines.append(
                "Best: \(TrialRecord.directoryName(b.number)), \(space.metric) \(String(format: "%.4f", b.value!)) (\(space.direction.rawValue)).")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `study.md` and, when a trial is complete, `best.yaml`: the best trial's
    /// configuration with `output_dir` set to `DIR/best`, ready for `fttrain train --config best.yaml`.
    /// Returns the summary.
    @discardableResult
    public func writeSummary() throws -> String {
        let text = summary()
        try text.write(to: directory.appendingPathComponent("study.md"), atomically: true, encoding: .utf8)
        if let b = best {
            let trialConfig = directory.appendingPathComponent(TrialRecord.directoryName(b.number)).appendingPathComponent("config.yaml")
            var configuration = try TrainingConfiguration.load(path: trialConfig.path)
            configuration.outputDir = directory.appendingPathComponent("best").path
            let note = "# fttrain tune: \(TrialRecord.directoryName(b.number)), \(space.metric) \(b.value!)\n"
            try (note + configuration.yamlString()).write(
                to: directory.appendingPathComponent("best.yaml"), atomically: true, encoding: .utf8)
        }
        return text
    }

    /// Runs every remaining trial one after another in this process, recording each as it ends
    /// and rewriting the summary; returns the summary.
    @discardableResult
    public func runInProcess(_ runner: TrialRunner, log: @escaping (String) -> Void = { _ in }) throws -> String {
        while let assignment = claim() {
            if let signal = PreemptionSignal.requested { throw TrainingInterrupted(signal: signal, step: 0, checkpoint: "") }
            let number = assignment.number
            let record = try runner.run(
                assignment, decide: { evaluation, value in self.report(trial: number, evaluation: evaluation, value: value) },
                log: log)
            try finish(record)
            try writeSummary()
        }
        return try writeSummary()
    }
}
