import ArgumentParser
import Foundation

/// `--model-dir DIR`: a Hugging Face model directory (config.json, model.safetensors, vocab.txt).
struct ModelDirectoryOption: ParsableArguments {
    @Option(name: .customLong("model-dir"), help: "Hugging Face model directory (config.json, model.safetensors, vocab.txt).")
    var path: String

    var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--model-dir \(path): no such directory")
        }
    }
}
