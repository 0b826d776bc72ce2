import ArgumentParser
import FTCore
import FTModel
import FTTrain
import Foundation

/// `fttrain generate`: text from a decoder model (a HF directory or a .gguf file), optionally with
/// a LoRA adapter: one prompt streamed to stdout, a file of prompts as JSON lines, or a chat.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text with a decoder language model (greedy or sampled).",
        discussion: """
            --prompt streams the answer to stdout as it is generated. --input FILE takes one prompt per \
            line (a .jsonl file: objects with "prompt" or "messages") and writes one JSON line per prompt: \
            {"prompt", "generated", "tokens", "stopped"}. --chat wraps prompts in the model's chat template \
            as a user turn; --chat alone is an interactive chat on standard input that keeps the conversation.
            Sampling follows Hugging Face's generate(): temperature, then top-k, then top-p, then a draw \
            seeded by --seed; without --do-sample (or with temperature 0) decoding is greedy.
            """)

    @Option(help: "The model: a Hugging Face directory (config.json, model.safetensors, tokenizer.json) or a .gguf file.")
    var model: String

    @Option(help: "A LoRA adapter directory in PEFT's format (adapter_config.json, adapter_model.safetensors).")
    var adapter: String?

    @Option(help: "The prompt.")
    var prompt: String?

    @Option(help: "A file of prompts: one per line, or JSON lines with \"prompt\" or \"messages\".")
    var input: String?

    @Flag(help: "Wrap prompts in the chat template; alone, chat interactively on standard input.")
    var chat = false

    @Option(help: "Tokens generated per prompt at most.")
    var maxNewTokens = 256

    @Flag(help: "Sample (temperature, top-k, top-p) instead of greedy decoding.")
    var doSample = false

    @Option(help: "Divides the logits before sampling; 0 is greedy.")
    var temperature: Float = 1

    @Option(help: "Sample among the k most likely tokens (0: all). Hugging Face's default is 50.")
    var topK = 50

    @Option(help: "Sample among the most likely tokens whose probability reaches p (1: all).")
    var topP: Float = 1

    @Option(help: "Seeds the sampling.")
    var seed: UInt64 = 42

    @Option(help: "Threads to compute on (default: FTTRAIN_THREADS, OPENBLAS_NUM_THREADS, else all cores).")
    var threads: Int?

    var sampling: SamplingSettings {
        SamplingSettings(doSample: doSample, temperature: temperature, topK: topK, topP: topP, seed: seed)
    }

    func validate() throws {
        if prompt != nil && input != nil { throw ValidationError("give --prompt or --input, not both") }
        if prompt == nil && input == nil && !chat { throw ValidationError("give --prompt TEXT, --input FILE, or --chat for an interactive chat") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be >= 1, got \(maxNewTokens)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
        do {
            try sampling.validate()
        } catch {
            throw ValidationError("\(error)".replacingOccurrences(of: "top_p", with: "--top-p").replacingOccurrences(of: "top_k", with: "--top-k"))
        }
        guard FileManager.default.fileExists(atPath: model) else { throw ValidationError("--model \(model): no such file or directory") }
        if let adapter {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: adapter, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--adapter \(adapter): no such directory")
            }
        }
        if let input, !FileManager.default.fileExists(atPath: input) { throw ValidationError("--input \(input): file not found") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let loaded = try CausalModelLoading.load(
            path: model, adapter: adapter.map { URL(fileURLWithPath: $0, isDirectory: true) })
        let generator = TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer)
        var sampler = LogitsSampler(settings: sampling)
        let out = FileHandle.standardOutput
        if let prompt {
            let text = chat ? try loaded.tokenizer.applyChatTemplate([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true) : prompt
            _ = try generator.generate(prompt: text, maxNewTokens: maxNewTokens, sampler: &sampler) { out.write(Data($0.utf8)) }
            out.write(Data("\n".utf8))
        } else if let input {
            for (line, request) in try Self.readPrompts(input, chat: chat, tokenizer: loaded.tokenizer) {
                let output: TextGenerator.Output
                do {
                    output = try generator.generate(prompt: request, maxNewTokens: maxNewTokens, sampler: &sampler)
                } catch {
                    throw CLIError("\(input):\(line): \(error)")
                }
                let record: [String: Any] = [
                    "prompt": request, "generated": output.text, "tokens": output.tokens.count, "stopped": output.stopped,
                ]
                out.write(try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]))
                out.write(Data("\n".utf8))
            }
        } else {
            try interactiveChat(generator: generator, tokenizer: loaded.tokenizer, sampler: &sampler)
        }
    }

    /// The prompts of `path` with their line numbers, as the model gets them (templated when
    /// `chat` or when a row has `messages`).
    static func readPrompts(_ path: String, chat: Bool, tokenizer: any CausalTokenizer) throws -> [(Int, String)] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(path): not valid UTF-8") }
        let jsonl = ["jsonl", "json", "ndjson"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
        var prompts: [(Int, String)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let number = index + 1
            guard jsonl else {
                prompts.append(
                    (number, chat ? try tokenizer.applyChatTemplate([ChatMessage(role: "user", content: line)], addGenerationPrompt: true) : line))
                continue
            }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw CLIError("\(path):\(number): not a JSON object")
            }
            if let messages = object["messages"] {
                guard let list = messages as? [[String: Any]], !list.isEmpty else {
                    throw CLIError("\(path):\(number): \"messages\" must be a non-empty list of {role, content}")
                }
                let turns = try list.enumerated().map { i, turn -> ChatMessage in
                    guard let role = turn["role"] as? String, let content = turn["content"] as? String else {
                        throw CLIError("\(path):\(number): messages[\(i)] needs string \"role\" and \"content\"")
                    }
                    guard ["system", "user", "assistant"].contains(role) else {
                        throw CLIError("\(path):\(number): messages[\(i)]: role \"\(role)\" is not system, user or assistant")
                    }
                    return ChatMessage(role: role, content: content)
                }
                // A conversation ending with the assistant's answer is prompted up to that answer.
                let context = turns.last?.role == "assistant" ? Array(turns.dropLast()) : turns
                prompts.append((number, try tokenizer.applyChatTemplate(context, addGenerationPrompt: true)))
            } else if let prompt = object["prompt"] as? String {
                prompts.append(
                    (number, chat ? try tokenizer.applyChatTemplate([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true) : prompt)
                )
            } else {
                throw CLIError("\(path):\(number): expected a string \"prompt\" or \"messages\"")
            }
        }
        guard !prompts.isEmpty else { throw CLIError("\(path): no prompts") }
        return prompts
    }

    /// Reads user turns from standard input, streams each answer, keeps the conversation.
    func interactiveChat(generator: TextGenerator, tokenizer: any CausalTokenizer, sampler: inout LogitsSampler) throws {
        var conversation: [ChatMessage] = []
        let out = FileHandle.standardOutput
        FileHandle.standardError.write(Data("chat: type a message, an empty line or end of input ends the chat\n".utf8))
        while true {
            FileHandle.standardError.write(Data("> ".utf8))
            guard let line = readLine(strippingNewline: true), !line.trimmingCharacters(in: .whitespaces).isEmpty else { break }
            conversation.append(ChatMessage(role: "user", content: line))
            let text = try tokenizer.applyChatTemplate(conversation, addGenerationPrompt: true)
            let output = try generator.generate(prompt: text, maxNewTokens: maxNewTokens, sampler: &sampler) { out.write(Data($0.utf8)) }
            out.write(Data("\n".utf8))
            conversation.append(ChatMessage(role: "assistant", content: output.text))
        }
    }
}
