import ArgumentParser
import FTCore
import FTModel
import Foundation

/// `fttrain embed`: sentence embeddings with sentence-transformers' semantics.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print a sentence embedding (JSON array of floats) for each UTF-8 line of standard input.")

    @OptionGroup var model: ModelDirectoryOption

    @Option(help: "mean: average of the last hidden states over real tokens; cls: the [CLS] state.")
    var pooling: SentencePooling = .mean

    @Flag(help: "L2-normalise each embedding.")
    var normalize = false

    @Option(
        name: .customLong("max-length"),
        help:
            "Tokens per line incl. [CLS]/[SEP]; longer lines are truncated (default: max_seq_length of sentence_bert_config.json, else max_position_embeddings)."
    )
    var maxLength: Int?

    @Option(name: .customLong("batch-size"), help: "Lines per forward pass.")
    var batchSize = 32

    @Option(
        help: "Threads fttrain computes on, each running single-threaded OpenBLAS (default: FTTRAIN_THREADS, OPENBLAS_NUM_THREADS, else all cores).")
    var threads: Int?

    @Flag(help: "Print the forward time per batch (median, ms) and samples/s as one JSON line on stderr.")
    var timing = false

    func validate() throws {
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2, got \(maxLength)") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let tokenizer = try EncoderTokenizers.load(modelDirectory: model.url)
        let encoder = try ModelRegistry.load(modelDirectory: model.url)
        (encoder as? EncoderModel)?.prepareForInference()
        let limit = min(maxLength ?? sentenceTransformersMaxLength() ?? encoder.maxSequenceLength, encoder.maxSequenceLength)
        let lines = try readStandardInputLines()
        let encodings = lines.map { tokenizer.encode($0, pair: nil, maxLength: limit) }
        // Batches of similar length waste little on padding (sentence-transformers sorts too);
        // results go back in input order.
        let order = encodings.indices.sorted { encodings[$0].inputIds.count > encodings[$1].inputIds.count }
        let C = encoder.hiddenSize
        var embeddings = [[Float]](repeating: [], count: lines.count)
        var pooled = [Float](repeating: 0, count: batchSize * C)
        var batchSeconds: [Double] = []
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let members = Array(order[start..<min(start + batchSize, order.count)])
            let batch = tokenizer.padBatch(members.map { encodings[$0] })
            let B = members.count, T = batch.sequenceLength
            let started = DispatchTime.now().uptimeNanoseconds
            let outputs = try encoder.forward(
                inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds,
                attentionMask: batch.attentionMask, batch: B, sequence: T,
                training: false, dropoutSeed: 0, firstTokenOnly: false)  // every token is pooled
            pooled.withUnsafeMutableBufferPointer { out in
                pooling.pool(
                    output: out.baseAddress!, lastHidden: outputs.lastHiddenState,
                    attentionMask: batch.attentionMask, batch: B, sequence: T, channels: C,
                    normalize: normalize)
            }
            batchSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            for (row, index) in members.enumerated() {
                embeddings[index] = Array(pooled[(row * C)..<((row + 1) * C)])
            }
        }
        var output = ""
        for embedding in embeddings {
            output += "[" + embedding.map { "\($0)" }.joined(separator: ", ") + "]\n"
            if output.utf8.count > 1 << 16 {
                print(output, terminator: "")
                output = ""
            }
        }
        print(output, terminator: "")
        if timing, !batchSeconds.isEmpty {
            let median = batchSeconds.sorted()[batchSeconds.count / 2]
            let report =
                "{\"batches\": \(batchSeconds.count), \"batch_size\": \(batchSize), \"threads\": \(Parallel.threadCount), "
                + "\"batch_ms_median\": \(median * 1000), \"samples_per_s\": \(Double(batchSize) / median)}\n"
            FileHandle.standardError.write(report.data(using: .utf8)!)
        }
    }

    /// `max_seq_length` from sentence-transformers' `sentence_bert_config.json`, if the model has one.
    private func sentenceTransformersMaxLength() -> Int? {
        let url = model.url.appendingPathComponent("sentence_bert_config.json")
        guard let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["max_seq_length"] as? Int
    }
}

extension SentencePooling: ExpressibleByArgument {}
