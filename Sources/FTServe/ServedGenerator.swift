import FTCore
import FTModel
import FTTrain
import Foundation

/// A causal language model served under a name (a Llama directory or `.gguf` file, or a LoRA
/// adapter over one — loaded with the adapter applied, as `fttrain generate --adapter` does), for
/// `/v1/generate` and `/v1/chat/completions`. Its generator is touched only by the compute thread.
public final class ServedGenerator: @unchecked Sendable {
    public let name: String
    /// The model directory or file (the adapter directory for an adapter).
    public let directory: URL
    /// The served base model's name, for an adapter.
    public let base: String?
    /// `DIR/lineage.json` as JSON text, when the file exists (a directory only).
    public let lineageJSON: String?
    /// Prompt plus generated tokens at most.
    public let maxLength: Int
    let generator: TextGenerator
    var tokenizer: any CausalTokenizer { generator.tokenizer }

    init(name: String, directory: URL, base: String?, lineageJSON: String?, generator: TextGenerator) {
        self.name = name
        self.directory = directory
        self.base = base
        self.lineageJSON = lineageJSON
        self.generator = generator
        maxLength = generator.model.maxSequenceLength
    }

    /// Whether `--model NAME=PATH` names a causal LM (a `.gguf` file, or a decoder's directory).
    static func isCausal(_ spec: ServeConfiguration.ModelSpec) -> Bool { CausalModelLoading.isCausalModel(path: spec.directory) }

    /// Loads the causal models of `configuration` and the adapters over them.
    /// - Throws: the loaders' errors, naming the file and the problem.
    static func loadAll(_ configuration: ServeConfiguration) throws -> [ServedGenerator] {
        var served: [ServedGenerator] = []
        for spec in configuration.models where isCausal(spec) {
            let loaded = try CausalModelLoading.load(path: spec.directory)
            let url = URL(fileURLWithPath: spec.directory)
            served.append(
                ServedGenerator(
                    name: spec.name, directory: url, base: nil, lineageJSON: try ServedModel.lineage(url),
                    generator: TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer)))
        }
        for adapter in configuration.adapters {
            guard let base = configuration.models.first(where: { $0.name == adapter.base }), isCausal(base) else { continue }
            let url = URL(fileURLWithPath: adapter.directory, isDirectory: true)
            let loaded = try CausalModelLoading.load(path: base.directory, adapter: url)
            served.append(
                ServedGenerator(
                    name: adapter.name, directory: url, base: base.name, lineageJSON: try ServedModel.lineage(url),
                    generator: TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer)))
        }
        return served
    }

    /// Generates after `prompt` on the compute thread, each text piece to `onText` as it is decoded.
    func generate(prompt: String, maxNewTokens: Int, sampling: SamplingSettings, onText: ((String) -> Void)?) throws -> TextGenerator.Output {
        var sampler = LogitsSampler(settings: sampling)
        return try generator.generate(prompt: prompt, maxNewTokens: maxNewTokens, sampler: &sampler, onText: onText)
    }
}
