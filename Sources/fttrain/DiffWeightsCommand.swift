import ArgumentParser
import FTCore
import Foundation

/// `fttrain diff-weights A B` (hidden): whether two runs reached the same parameters. Prints the
/// worst tensors and one summary line; exits 1 when any element is outside the tolerance or a
/// tensor is missing or shaped differently. Used by the data-parallel and resume check scripts.
struct DiffWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff-weights",
        abstract: "Compare two safetensors files (or model directories) tensor by tensor.",
        shouldDisplay: false)

    @Argument(help: "The candidate: a .safetensors file or a directory holding model.safetensors.")
    var candidate: String

    @Argument(help: "The reference, likewise.")
    var reference: String

    @Option(help: "Relative tolerance: |a - b| <= atol + rtol * |b|.")
    var rtol: Double = 0

    @Option(help: "Absolute tolerance.")
    var atol: Double = 0

    func validate() throws {
        guard rtol >= 0, atol >= 0 else { throw ValidationError("--rtol and --atol must be non-negative") }
    }

    func run() throws {
        let comparison = try SafeTensorsComparison(
            SafeTensorsFile(path: Self.file(candidate)),
            SafeTensorsFile(path: Self.file(reference)),
            relativeTolerance: rtol, absoluteTolerance: atol)
        let worst = comparison.entries.sorted { $0.maxAbsoluteDifference > $1.maxAbsoluteDifference }
        for entry in worst.prefix(5) where entry.maxAbsoluteDifference > 0 || entry.problem != nil {
            print(
                "  \(entry.name): "
                    + (entry.problem
                        ?? String(
                            format: "max |a-b| %.3g, max rel %.3g, %d outside",
                            entry.maxAbsoluteDifference, entry.maxRelativeDifference,
                            entry.mismatches)))
        }
        let bad = comparison.entries.filter { !$0.isWithinTolerance }.count
        print(
            String(
                format: "%@: %d tensors, max |a-b| %.3g, max rel %.3g, %d outside rtol %g atol %g",
                bad == 0 ? "same" : "DIFFERENT", comparison.entries.count, comparison.maxAbsoluteDifference,
                comparison.maxRelativeDifference, bad, rtol, atol))
        if bad > 0 { throw ExitCode.failure }
    }

    private static func file(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return (path as NSString).appendingPathComponent("model.safetensors")
        }
        return path
    }
}
