import FTCore
import FTModel
import Foundation

/// What a sequence-classification head predicts and which loss trains it: Hugging Face's
/// `problem_type` (`BertForSequenceClassification.forward`), written to the exported
/// `config.json` so transformers reloads the model and computes the same loss.
public enum ProblemType: String, CaseIterable, Codable, Sendable {
    /// One class per sequence: softmax cross-entropy (`CrossEntropyLoss`).
    case singleLabelClassification = "single_label_classification"
    /// Any set of the labels per sequence: a sigmoid per label, `BCEWithLogitsLoss`.
    case multiLabelClassification = "multi_label_classification"
    /// A number per sequence (`num_labels: 1`, `MSELoss` on the squeezed logit) or several
    /// (`MSELoss` over all of them).
    case regression

    /// What the data's label column holds for this problem type.
    public func labelKind(separator: String?) -> LabelKind {
        switch self {
        case .singleLabelClassification: return .name
        case .multiLabelClassification: return .list(separator: separator)
        case .regression: return .number
        }
    }

    /// The problem type of a training file when `problem_type` is not set, as Hugging Face infers
    /// it from the labels (`num_labels == 1` → regression; integer labels → single-label;
    /// multi-hot float rows → multi-label): a JSON array in the label column (or, with
    /// `label_separator`, a cell holding the separator) is multi-label, unless it holds numbers of
    /// which some are not integers (the outputs of a regression); numbers of which some are not
    /// integers (one float output, `num_labels` 1) are regression; anything else single-label.
    /// - Throws: `DataError` when the file cannot be read.
    public static func inferred(trainPath: String, labelColumn: String, separator: String?, format: DataFormat?) throws -> ProblemType {
        let table = try DataTable.read(trainPath, format: format)
        guard let column = table.header.firstIndex(of: labelColumn) else { return .singleLabelClassification }
        var sawFloat = false, allNumbers = true
        for row in table.rows {
            guard let value = row.value(at: column) else {
                // A JSON Lines row whose label is a structure: an array is a list of labels, or the
                // outputs of a regression when it holds numbers of which some are not integers.
                if table.format == .jsonl, let elements = Self.labelArray(row.raw, key: labelColumn) {
                    let floats =
                        elements.allSatisfy {
                            if case .number = $0 { return true }
                            return false
                        }
                        && elements.contains {
                            if case .number(let literal) = $0 { return JSONLinesReading.integerText(literal) == nil }
                            return false
                        }
                    return floats ? .regression : .multiLabelClassification
                }
                continue
            }
            if let separator, !separator.isEmpty, value.contains(separator) { return .multiLabelClassification }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            if Double(trimmed) == nil {
                allNumbers = false
            } else if JSONLinesReading.integerText(trimmed) == nil {
                sawFloat = true
            }
        }
        return sawFloat && allNumbers ? .regression : .singleLabelClassification
    }

    /// The elements of the row's label when it is a JSON array, else nil.
    static func labelArray(_ line: String, key: String) -> [StrictJSON.Value]? {
        let bytes = Array(line.utf8)
        let value = bytes.withUnsafeBufferPointer { try? StrictJSON.parse($0) }
        guard case .object(let members)? = value, let member = members.first(where: { $0.key == key }) else { return nil }
        if case .array(let elements) = member.value { return elements }
        return nil
    }

    /// The `problem_type` of a model directory's `config.json` (a fine-tuned model), or nil.
    public static func of(modelDirectory: URL) -> ProblemType? {
        let path = modelDirectory.appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let raw = object["problem_type"] as? String
        else { return nil }
        return ProblemType(rawValue: raw)
    }

    /// The loss of this problem type over `classes` outputs.
    public func objective(classes: Int, classWeights: [Float]? = nil) throws -> any TaskObjective {
        switch self {
        case .singleLabelClassification: return try SequenceClassificationObjective(classes: classes, classWeights: classWeights)
        case .multiLabelClassification: return try MultiLabelClassificationObjective(classes: classes)
        case .regression: return try RegressionObjective(outputs: classes)
        }
    }
}

extension ProblemType: ConfigurationChoice {}
