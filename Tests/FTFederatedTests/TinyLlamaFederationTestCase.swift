import Crypto
import FTCore
@testable import FTFederated
import Foundation
import TestSupport
import XCTest

/// What the federations of a tiny random Llama share (`FederatedCausalLMTests`,
/// `FederatedHeterogeneousRanksTests`): a fresh directory per test with the model in `model/` and
/// chat SFT rows in `site-1.jsonl`, `site-2.jsonl` and `validation.jsonl`, one compute thread
/// while the test runs, a site trainer that records its rounds, and the two sites' identities.
class TinyLlamaFederationTestCase: XCTestCase {
    var directory: URL!
    private var savedThreads = 1

    /// The start of the temporary directory's name.
    class var directoryPrefix: String { "federated" }
    /// Which rows (by number) each data file holds.
    class var rows: (site1: Range<Int>, site2: Range<Int>, validation: Range<Int>) { (0..<16, 16..<40, 40..<48) }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(Self.directoryPrefix)-\(UUID().uuidString)")
        try TinyLlamaDirectory.write(to: directory.appendingPathComponent("model"))
        // Row i: "Row i: say it", answered "yes" (every third row) or "no", repeated 1 to 4 times.
        func rows(_ range: Range<Int>) -> String {
            range.map { i in
                let answer = Array(repeating: i % 3 == 0 ? "yes" : "no", count: i % 4 + 1).joined(separator: " ")
                return #"{"messages": [{"role": "user", "content": "Row \#(i): say it"}, {"role": "assistant", "content": "\#(answer)"}]}"#
            }.joined(separator: "\n") + "\n"
        }
        let files = Self.rows
        try rows(files.site1).write(to: directory.appendingPathComponent("site-1.jsonl"), atomically: true, encoding: .utf8)
        try rows(files.site2).write(to: directory.appendingPathComponent("site-2.jsonl"), atomically: true, encoding: .utf8)
        try rows(files.validation).write(to: directory.appendingPathComponent("validation.jsonl"), atomically: true, encoding: .utf8)
        savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
    }

    override func tearDownWithError() throws {
        Parallel.threadCount = savedThreads
        try? FileManager.default.removeItem(at: directory)
    }

    typealias RecordingTrainer = RecordingSiteTrainer
    typealias Identities = SiteIdentities
}
