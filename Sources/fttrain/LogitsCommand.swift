import ArgumentParser
import FTCore
import FTModel
import FTTrain
import Foundation

/// `fttrain logits` (hidden): the token ids and next-token logits of a decoder on prompts, as a
/// safetensors file, so interop scripts compare fttrain with transformers on the same text.
/// Tensor `ids.N` holds prompt N's ids (int64), `logits.N` its `(T, V)` logits (float32).
struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Write the ids and logits of a decoder on prompts to a safetensors file.",
        shouldDisplay: false)

    @Option(help: "The model: a Hugging Face directory or a .gguf file.")
    var model: String

    @Option(help: "A LoRA adapter directory in PEFT's format.")
    var adapter: String?

    @Option(help: "A file of prompts, one per line (tokenised as the tokenizer does: BOS when it adds one).")
    var input: String

    @Flag(help: "Wrap each prompt in the chat template as a user turn, with the generation prompt.")
    var chat = false

    @Option(help: "The safetensors file to write.")
    var output: String

    func run() throws {
        let loaded = try CausalModelLoading.load(path: model, adapter: adapter.map { URL(fileURLWithPath: $0, isDirectory: true) })
        guard let text = try? String(contentsOfFile: input, encoding: .utf8) else { throw CLIError("\(input): cannot read the file") }
        let prompts = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard !prompts.isEmpty else { throw CLIError("\(input): no prompts") }
        let model = loaded.model, V = model.vocabularySize
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        for (n, prompt) in prompts.enumerated() {
            let rendered =
                chat ? try loaded.tokenizer.applyChatTemplate([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true) : prompt
            let ids = loaded.tokenizer.encode(rendered), T = ids.count
            guard T <= model.maxSequenceLength else {
                throw CLIError("\(input):\(n + 1): \(T) tokens, more than the model's \(model.maxSequenceLength)")
            }
            let out = try model.forward(
                inputIds: ids, tokenTypeIds: [Int32](repeating: 0, count: T), attentionMask: [Int32](repeating: 1, count: T), batch: 1,
                sequence: T, training: false, dropoutSeed: 0, firstTokenOnly: false)
            guard let logits = out.logits else { throw CLIError("\(model.architectureName) returned no logits") }
            try writer.add("ids.\(n)", shape: [T], int64s: ids.map { Int64($0) })
            try writer.add("logits.\(n)", shape: [T, V], floats: UnsafeBufferPointer(start: logits, count: T * V))
        }
        try writer.write(toPath: output)
        print("wrote the logits of \(prompts.count) prompts to \(output)")
    }
}
