import ArgumentParser
import FTTrain
import Foundation

/// `fttrain lineage DIR`: the chain of runs behind a run or model directory, from its
/// `lineage.json` back through each parent.
struct LineageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "Print where a run or model came from: its lineage.json and its parents', back to the first run.",
        discussion: """
            DIR is a run's output directory, a model directory (OUT/model, OUT/adapter, a quantised or pruned \
            model), a checkpoint, a one-file model (model.gguf: its model.gguf.lineage.json) or a lineage.json. \
            One block per run, newest first: command, time, fttrain's commit, the base model and inputs with \
            short SHA-256 sums, the split sums, the metrics and the parent. A parent that was moved or deleted \
            ends the chain with a note (exit 0); a malformed lineage.json is an error naming the file.
            """)

    @Argument(help: "A run or model directory (or a lineage.json).")
    var path: String

    @Flag(help: "Print the chain as JSON: {\"chain\": [{\"path\", \"file\", \"lineage\"}], \"end\": {\"kind\", ...}}.")
    var json = false

    func run() throws {
        let chain: LineageChain
        do { chain = try LineageChain.follow(from: path) } catch let error as LineageError { throw CLIError(error.description) }
        if json {
            FileHandle.standardOutput.write(try chain.json())
            print("")
        } else {
            print(chain.text())
        }
    }
}
