/// Per-class weights of the cross-entropy loss, to counter class imbalance.
///
/// In a file (or after a flag) it is one of
/// - `balanced` — scikit-learn's rule, `n_samples / (n_classes × count(class))`, from the training split;
/// - a list of numbers, one per class in class-id order (`[1.0, 2.5, 1.0]`, flag `1,2.5,1`);
/// - a mapping from label to number (`{fresh: 1.0, rotten: 1.4}`, flag `fresh=1,rotten=1.4`).
public enum ClassWeights: Sendable, Equatable {
    case balanced
    case list([Double])
    case byLabel([String: Double])
}

extension ClassWeights: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard text == "balanced" else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown class_weights `\(text)`")
            }
            self = .balanced
        } else if let values = try? container.decode([Double].self) {
            self = .list(values)
        } else if let map = try? container.decode([String: Double].self) {
            self = .byLabel(map)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "class_weights must be `balanced`, a list of numbers or a mapping from label to number")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .balanced: try container.encode("balanced")
        case .list(let values): try container.encode(values)
        case .byLabel(let map): try container.encode(map)
        }
    }
}
