import Foundation

/// Trainable and total parameters of a model, counted as PEFT's `print_trainable_parameters`
/// counts them, so the two logs can be compared line for line.
public struct TrainableParameterCount: Sendable, Equatable {
    public let trainable: Int
    /// PEFT's "all params": every parameter of the wrapped model, adapter tensors included, and a
    /// module to save counted twice (PEFT keeps its frozen original beside the trained copy).
    public let all: Int

    public init(trainable: Int, all: Int) {
        self.trainable = trainable
        self.all = all
    }

    /// `trainable params: 3,555 || all params: 25,158 || trainable%: 14.1307`, PEFT's line.
    public var description: String {
        let percent = all > 0 ? 100 * Double(trainable) / Double(all) : 0
        return "trainable params: \(Self.grouped(trainable)) || all params: \(Self.grouped(all)) || trainable%: \(String(format: "%.4f", percent))"
    }

    /// 25158 → "25,158", as Python's `f"{n:,}"`.
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }
}

extension EncoderModel {
    /// The model's trainable and total parameter counts, PEFT's way.
    public var trainableParameterCount: TrainableParameterCount {
        var all = store.count
        if let lora = peft?.lora?.configuration {
            for view in store.views where lora.saves(moduleName: config.family.names.moduleName(ofTensor: view.name)) {
                all += view.count
            }
        }
        return TrainableParameterCount(trainable: store.trainableCount, all: all)
    }
}
