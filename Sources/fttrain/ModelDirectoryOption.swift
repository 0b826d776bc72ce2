import ArgumentParser
import Foundation

/// `--model-dir DIR`: a Hugging Face model directory (config.json, model.safetensors, vocab.txt),
/// or a llama.cpp `.gguf` file (a Llama).
struct ModelDirectoryOption: ParsableArguments {
    @Option(
        name: .customLong("model-dir"),
        help: "Hugging Face model directory (config.json, model.safetensors, vocab.txt), or a Llama .gguf file.")
    var path: String

    /// Whether the option names a GGUF file rather than a directory.
    var isGGUF: Bool { path.lowercased().hasSuffix(".gguf") }

    var url: URL { URL(fileURLWithPath: path, isDirectory: !isGGUF) }

    func validate() throws {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isGGUF {
            guard exists, !isDirectory.boolValue else { throw ValidationError("--model-dir \(path): no such GGUF file") }
            return
        }
        guard exists, isDirectory.boolValue else {
            throw ValidationError("--model-dir \(path): no such directory")
        }
    }
}
