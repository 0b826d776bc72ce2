import FTCore
import Foundation

/// An `AdapterUpdate` as safetensors bytes, the format PEFT saves adapters in: for each module
/// `<module>.lora_A.weight (r, in)` and `<module>.lora_B.weight (out, r)`, each dense tensor under
/// its own name, and in the metadata the example count and what the message is. What crosses
/// between a site and the coordinator is exactly this: adapter tensors and a few numbers.
public enum AdapterCodec {
    public struct DecodingError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func encode(_ update: AdapterUpdate, metadata: [String: String] = [:]) throws -> [UInt8] {
        var meta = metadata
        meta["examples"] = String(update.examples)
        meta["format"] = "pt"
        var writer = SafeTensorsWriter(metadata: meta)
        for (name, f) in update.modules.sorted(by: { $0.key < $1.key }) {
            try writer.add(name + ".lora_A.weight", shape: [f.rank, f.inFeatures], floats: f.a)
            try writer.add(name + ".lora_B.weight", shape: [f.outFeatures, f.rank], floats: f.b)
        }
        for (name, values) in update.dense.sorted(by: { $0.key < $1.key }) {
            try writer.add(name, shape: [values.count], floats: values)
        }
        return writer.serialized()
    }

    /// Decodes and checks a message: every A has its B with a matching rank; nothing else but
    /// dense tensors. `source` names the sender in errors.
    public static func decode(_ bytes: [UInt8], source: String) throws -> (update: AdapterUpdate, metadata: [String: String]) {
        let file = try SafeTensorsFile(bytes: bytes, name: source)
        guard let examples = file.metadata["examples"].flatMap(Int.init), examples >= 0 else {
            throw DecodingError(description: "\(source): the update carries no example count")
        }
        var modules: [String: LoRAFactors] = [:], dense: [String: [Float]] = [:]
        for info in file.tensors {
            let name = info.name
            if name.hasSuffix(".lora_A.weight") {
                let module = String(name.dropLast(".lora_A.weight".count))
                guard let bInfo = file.info(module + ".lora_B.weight") else {
                    throw DecodingError(description: "\(source): \(name) has no lora_B")
                }
                guard info.shape.count == 2, bInfo.shape.count == 2, info.shape[0] == bInfo.shape[1] else {
                    throw DecodingError(description: "\(source): \(module) has A \(info.shape) and B \(bInfo.shape), not (r, in) and (out, r)")
                }
                modules[module] = LoRAFactors(
                    a: try file.floats(name), b: try file.floats(module + ".lora_B.weight"),
                    rank: info.shape[0], inFeatures: info.shape[1], outFeatures: bInfo.shape[0])
            } else if name.hasSuffix(".lora_B.weight") {
                guard file.contains(String(name.dropLast(".lora_B.weight".count)) + ".lora_A.weight") else {
                    throw DecodingError(description: "\(source): \(name) has no lora_A")
                }
            } else {
                dense[name] = try file.floats(name)
            }
        }
        return (AdapterUpdate(modules: modules, dense: dense, examples: examples), file.metadata)
    }
}
