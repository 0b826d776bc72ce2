@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// `fttrain tune`'s two readers in the seeded fuzzer (see FuzzTests): space files (then both
/// samplers draw from what was read, and the values are checked against a configuration) and
/// `study.jsonl` (then a study resumes from it and hands out a trial). Every input must read or
/// fail with an error naming the file. Budget 2 s each.
extension FuzzTests {
    func testFuzzTuneSpace() throws {
        let seed = Array(
            """
            sampler: tpe
            metric: eval_f1_macro
            direction: maximize
            n_startup_trials: 1
            min_resource: 1
            reduction_factor: 3
            learning_rate: {loguniform: [1e-5, 1e-3]}
            per_device_train_batch_size: {choice: [8, 16, 32]}
            warmup_ratio: {uniform: [0, 0.2]}
            num_train_epochs: {int: [1, 4]}
            lora_target_modules: {choice: [[query, value], [query, key, value, dense]]}
            """.utf8)
        var mutator = Mutator(
            seed: 181, seeds: [seed],
            dictionary: ["{int: [", "{uniform: [", "{loguniform: [", "{choice: [", "]}", "-9223372036854775808", "1e999", ".nan", "null", "random"],
            text: true)
        let report = try Fuzz.run("tune-space", cases: 3000, fileName: "space.yaml", budget: 2, next: { mutator.next() }) { path, index in
            let space = try SearchSpace.load(path: path)
            let first = space.makeSampler().sample(trial: index, history: [])
            let history = [TrialObservation(number: 0, parameters: first, outcome: .complete(0.5))]
            _ = TPESampler(space: space, startupTrials: 0).sample(trial: index + 1, history: history)
            var base = TrainingConfiguration()
            base.evalStrategy = .steps
            base.peft = .lora
            try space.check(against: base, source: path)
        }
        Fuzz.check(report)
    }

    func testFuzzStudyFile() throws {
        var record = TrialRecord(number: 1, state: .pruned, parameters: ["learning_rate": .number(3e-5), "lora_r": .integer(8)])
        record.evaluations = [0.5, 0.25]
        record.rungs = [1: 0.5]
        var complete = TrialRecord(number: 0, state: .complete, parameters: ["learning_rate": .number(1e-4), "lora_r": .integer(4)])
        complete.value = 0.75
        let seed = Array((try complete.jsonLine() + "\n" + record.jsonLine() + "\n").utf8)
        var mutator = Mutator(
            seed: 182, seeds: [seed], dictionary: ["\"rungs\"", "\"state\"", "\"pruned\"", "\"failed\"", "null", "1e999", "-1", "[]", "{}"],
            text: true)
        let space = try SearchSpace.parse(yaml: "n_startup_trials: 0\nlearning_rate: {loguniform: [1e-5, 1e-3]}\nlora_r: {int: [2, 16]}")
        let report = try Fuzz.run("tune-study", cases: 2000, fileName: "study.jsonl", budget: 2, next: { mutator.next() }) { path, _ in
            let study = try Study(space: space, directory: URL(fileURLWithPath: path).deletingLastPathComponent(), trials: 5)
            _ = study.claim()
            _ = study.summary()
        }
        Fuzz.check(report)
    }
}
