import Foundation
import SwiftProtobuf

/// TensorBoard event files as Hugging Face's `TensorBoardCallback` (through PyTorch's
/// `SummaryWriter`) writes them: `OUT/runs/<Mon DD_HH-MM-SS>_<host>/events.out.tfevents.<time>.<host>.<pid>.0`,
/// a TFRecord file of `Event` protobufs — first `file_version` "brain.Event:2", then one event per
/// scalar (`simple_value`) or text (the text plugin's string tensor, tag `<name>/text_summary`).
/// Metric names are HF's (`rewrite_logs`): `eval_x` → `eval/x`, `test_x` → `test/x`, anything else
/// → `train/x`.
public final class TensorBoardWriter {
    /// The event file.
    public let path: String
    private let records: TFRecordWriter

    /// A new event file in `logDirectory` (created).
    /// - Throws: `ReportError` naming the directory or file that cannot be created.
    public init(logDirectory: URL, now: Date = Date()) throws {
        do {
            try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        } catch {
            throw ReportError(path: logDirectory.path, message: "cannot create the TensorBoard log directory: \(error)")
        }
        let host = ProcessInfo.processInfo.hostName
        let name = "events.out.tfevents.\(String(format: "%010d", Int(now.timeIntervalSince1970))).\(host).\(getpid()).0"
        path = logDirectory.appendingPathComponent(name).path
        records = try TFRecordWriter(path: path)
        var event = Tensorboard_Event()
        event.wallTime = now.timeIntervalSince1970
        event.fileVersion = "brain.Event:2"
        try write(event)
    }

    /// HF's default `logging_dir` under `output`: `runs/<Mon DD_HH-MM-SS>_<host>`.
    public static func defaultLogDirectory(output: URL, now: Date = Date()) -> URL {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "MMMdd_HH-mm-ss"
        return output.appendingPathComponent("runs", isDirectory: true)
            .appendingPathComponent("\(formatter.string(from: now))_\(ProcessInfo.processInfo.hostName)", isDirectory: true)
    }

    /// HF's tag of a logged key (`rewrite_logs`).
    public static func tag(for key: String) -> String {
        for prefix in ["eval_", "test_"] where key.hasPrefix(prefix) {
            return prefix.dropLast() + "/" + key.dropFirst(prefix.count)
        }
        return "train/" + key
    }

    /// One scalar at `step`.
    public func scalar(_ tag: String, _ value: Double, step: Int, wallTime: Date = Date()) throws {
        var summaryValue = Tensorboard_Summary.Value()
        summaryValue.tag = tag
        summaryValue.simpleValue = Float(value)
        try write(summary: [summaryValue], step: step, wallTime: wallTime)
    }

    /// A log record (`log.jsonl`'s): every number but `step` as a scalar under HF's tag, at its `step`.
    public func record(_ values: [String: Double], wallTime: Date = Date()) throws {
        guard let step = values["step"] else { return }
        var summary: [Tensorboard_Summary.Value] = []
        for (key, value) in values.sorted(by: { $0.key < $1.key }) where key != "step" && value.isFinite {
            var summaryValue = Tensorboard_Summary.Value()
            summaryValue.tag = Self.tag(for: key)
            summaryValue.simpleValue = Float(value)
            summary.append(summaryValue)
        }
        try write(summary: summary, step: Int(step), wallTime: wallTime)
    }

    /// A text (markdown) under `<name>/text_summary`, as `SummaryWriter.add_text` writes it.
    public func text(_ name: String, _ text: String, step: Int = 0, wallTime: Date = Date()) throws {
        var plugin = Tensorboard_TextPluginData()
        plugin.version = 0
        var metadata = Tensorboard_SummaryMetadata()
        metadata.pluginData.pluginName = "text"
        metadata.pluginData.content = try plugin.serializedData()
        var tensor = Tensorboard_TensorProto()
        tensor.dtype = .dtString
        var dimension = Tensorboard_TensorShapeProto.Dim()
        dimension.size = 1
        tensor.tensorShape.dim = [dimension]
        tensor.stringVal = [Data(text.utf8)]
        var summaryValue = Tensorboard_Summary.Value()
        summaryValue.tag = name + "/text_summary"
        summaryValue.metadata = metadata
        summaryValue.tensor = tensor
        try write(summary: [summaryValue], step: step, wallTime: wallTime)
    }

    private func write(summary values: [Tensorboard_Summary.Value], step: Int, wallTime: Date) throws {
        guard !values.isEmpty else { return }
        var event = Tensorboard_Event()
        event.wallTime = wallTime.timeIntervalSince1970
        event.step = Int64(step)
        event.summary.value = values
        try write(event)
    }

    private func write(_ event: Tensorboard_Event) throws {
        try records.write(try event.serializedData())
    }
}
