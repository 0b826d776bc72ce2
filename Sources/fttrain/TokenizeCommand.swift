import ArgumentParser
import FTModel

/// `fttrain tokenize`: one JSON array of token ids per input line.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of each UTF-8 line of standard input as a JSON array (with [CLS]/[SEP]).")

    @OptionGroup var model: ModelDirectoryOption

    @Option(name: .customLong("max-length"), help: "Truncate to at most N tokens including [CLS]/[SEP] (default: no truncation).")
    var maxLength: Int?

    func validate() throws {
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2, got \(maxLength)") }
    }

    func run() throws {
        let tokenizer = try EncoderTokenizers.load(modelDirectory: model.url)
        var output = ""
        for line in try readStandardInputLines() {
            let ids = tokenizer.encode(line, pair: nil, maxLength: maxLength).inputIds
            output += "[" + ids.map(String.init).joined(separator: ", ") + "]\n"
            if output.utf8.count > 1 << 16 {
                print(output, terminator: "")
                output = ""
            }
        }
        print(output, terminator: "")
    }
}
