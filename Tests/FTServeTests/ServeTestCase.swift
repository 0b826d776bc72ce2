import FTCore
import FTModel
@testable import FTServe
import FTTrain
import Foundation
import TestSupport
import XCTest

/// Shared set-up of the server tests: a tiny random BERT encoder (served as an embedder), a
/// three-class classifier fine-tuned from it (random head, `id2label` neg/pos/neutral) and a LoRA
/// adapter over the encoder, in a fresh temporary directory; servers run in-process on an
/// ephemeral loopback port.
class ServeTestCase: XCTestCase {
    var directory: URL!
    var encoderDirectory: URL { directory.appendingPathComponent("encoder") }
    var classifierDirectory: URL { directory.appendingPathComponent("classifier") }
    var adapterDirectory: URL { directory.appendingPathComponent("adapter") }
    private var running: [(server: ServeServer, task: Task<Void, any Error>)] = []

    static let words = [
        "good", "great", "fine", "bad", "awful", "dull", "the", "movie", "film", "was", "is", "a", "story", "about",
        "man", "woman", "who", "finds", "city", ".", ",", "!",
    ]
    static let labels = ["neg", "pos", "neutral"]

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try TinyModelDirectory.write(to: encoderDirectory, words: Self.words)
        let classifier = try ModelRegistry.load(modelDirectory: encoderDirectory, numLabels: 3, seed: 7)
        var rng = SeededRNG(seed: 11)
        for view in classifier.store.views where view.name.hasPrefix("classifier") {
            let p = classifier.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.5 * rng.nextNormal() }  // a head far enough from uniform
        }
        try HuggingFaceExport.write(model: classifier, labels: Self.labels, baseModelDirectory: encoderDirectory, to: classifierDirectory)
        let lora = LoRAConfiguration(rank: 2, alpha: 4, targetModules: ["query", "value"])
        let adapted = try EncoderModel.load(modelDirectory: encoderDirectory, numLabels: 2, seed: 5, peft: PEFTSetup(lora: lora))
        for view in adapted.store.views where lora.isTrainable(view.name) {
            let p = adapted.store.value(view.name)
            for i in 0..<view.count { p[i] = 0.3 * rng.nextNormal() }
        }
        try PEFTAdapter.write(model: adapted, to: adapterDirectory, baseModelName: encoderDirectory.path)
    }

    override func tearDown() async throws {
        for (server, task) in running {
            await server.shutdown()
            _ = try? await task.value
        }
        running = []
        try? FileManager.default.removeItem(at: directory)
    }

    /// The default configuration: the classifier as `classifier`, the encoder as `encoder`, the
    /// adapter as `lora` over `encoder`, on port 0.
    func configuration(_ change: (inout ServeConfiguration) -> Void = { _ in }) -> ServeConfiguration {
        var configuration = ServeConfiguration()
        configuration.port = 0
        configuration.models = [
            .init(name: "classifier", directory: classifierDirectory.path), .init(name: "encoder", directory: encoderDirectory.path),
        ]
        configuration.adapters = [.init(name: "lora", base: "encoder", directory: adapterDirectory.path)]
        change(&configuration)
        return configuration
    }

    /// Starts a server in-process and returns it with its port; it is shut down in tearDown.
    func start(_ configuration: ServeConfiguration) async throws -> (ServeServer, Int) {
        let server = try ServeServer(configuration: configuration)
        let listening = AsyncStream<Int>.makeStream()
        let task = Task {
            defer { listening.continuation.finish() }
            try await server.run(handleSignals: false) { _, port in listening.continuation.yield(port) }
        }
        running.append((server, task))
        var iterator = listening.stream.makeAsyncIterator()
        guard let port = await iterator.next() else {
            _ = try await task.value
            throw HTTPTestClient.Failure(description: "the server ended before listening")
        }
        return (server, port)
    }

    /// Probabilities that `fttrain predict` computes for these texts: its code path (tokenizer,
    /// `Predictions.compute` in batches of 64 sorted by length) on the classifier directory.
    func predictCommandProbabilities(_ texts: [(String, String?)]) throws -> [[Float]] {
        let tokenizer = try BertTokenizer.load(modelDirectory: classifierDirectory)
        let model = try ModelRegistry.load(modelDirectory: classifierDirectory, numLabels: 3)
        let dataset = EncodedDataset.encode(
            texts: texts.map(\.0), pairs: texts.map(\.1), labels: [Int32](repeating: 0, count: texts.count), tokenizer: tokenizer,
            maxLength: min(128, model.maxSequenceLength))
        let predictions = try Predictions.compute(model: model, dataset: dataset, batchSize: 64, padTokenId: tokenizer.padTokenId)
        return (0..<texts.count).map { Array(predictions.row($0)) }
    }

    /// Texts of 1 to 30 words from the vocabulary, deterministic, some with a pair.
    static func texts(_ count: Int, seed: UInt64 = 3) -> [(String, String?)] {
        var rng = SeededRNG(seed: seed)
        return (0..<count).map { i in
            let length = 1 + Int(rng.next() % 30)
            let text = (0..<length).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ")
            return (text, i % 5 == 4 ? "the film was good" : nil)
        }
    }

    /// The JSON form of a text or pair in "inputs".
    static func input(_ text: (String, String?)) -> Any { text.1.map { [text.0, $0] } ?? text.0 }
}

/// Runs `body(i)` for i in 0..<count on `count` threads at once (blocking calls off the
/// cooperative pool), results in order.
func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
    try await withCheckedThrowingContinuation { continuation in
        // One thread per client (concurrentPerform would run only as many at once as there are cores).
        let results = LockedResults<T>(count: count)
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            Thread {
                results.set(i, Result { try body(i) })
                group.leave()
            }.start()
        }
        group.notify(queue: .global()) { continuation.resume(with: Result { try results.values() }) }
    }
}

/// Results of concurrent work, set from several threads.
final class LockedResults<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<T, any Error>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ result: Result<T, any Error>) { lock.withLock { results[i] = result } }

    func values() throws -> [T] { try lock.withLock { try results.map { try $0!.get() } } }
}
