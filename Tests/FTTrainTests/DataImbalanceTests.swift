import FTTrain
import XCTest

final class DataImbalanceTests: XCTestCase {
    private let labels = LabelSet(labels: ["a", "b", "c"])
    private let trainIds = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2]  // counts 6, 3, 1

    func testBalancedWeightsMatchScikitLearn() throws {
        // sklearn.utils.class_weight.compute_class_weight("balanced", classes=[0,1,2], y=...):
        // n_samples / (n_classes · bincount) = 10 / (3 · [6, 3, 1]) = [0.5556, 1.1111, 3.3333].
        let weights = try XCTUnwrap(ClassWeighting.balanced.weights(for: labels, trainingLabelIds: trainIds))
        XCTAssertEqual(weights.count, 3)
        XCTAssertEqual(weights[0], 10.0 / 18.0, accuracy: 1e-6)
        XCTAssertEqual(weights[1], 10.0 / 9.0, accuracy: 1e-6)
        XCTAssertEqual(weights[2], 10.0 / 3.0, accuracy: 1e-6)
        // Every class then carries the same total weight (n_samples / n_classes).
        XCTAssertEqual(weights[0] * 6, weights[2] * 1, accuracy: 1e-5)
        XCTAssertNil(try ClassWeighting.none.weights(for: labels, trainingLabelIds: trainIds))
    }

    func testExplicitWeightsAreValidated() throws {
        XCTAssertEqual(try ClassWeighting.byClassId([1, 2, 3]).weights(for: labels, trainingLabelIds: trainIds), [1, 2, 3])
        XCTAssertEqual(try ClassWeighting.byLabel(["c": 5, "a": 1, "b": 0.5]).weights(for: labels, trainingLabelIds: trainIds), [1, 0.5, 5])

        let cases: [(ClassWeighting, String)] = [
            (.byClassId([1, 2]), "invalid class weights: 2 weights given for 3 classes (0: a, 1: b, 2: c)"),
            (.byClassId([1, 0, 2]), "invalid class weights: the weight of \"b\" is 0.0; weights must be finite and > 0"),
            (.byClassId([1, .infinity, 2]), "invalid class weights: the weight of \"b\" is inf; weights must be finite and > 0"),
            (.byLabel(["a": 1, "b": 1]), "invalid class weights: no weight given for \"c\""),
            (
                .byLabel(["a": 1, "b": 1, "c": 1, "d": 1]),
                "invalid class weights: weights given for labels not in the training split: \"d\" (labels: 0: a, 1: b, 2: c)"
            ),
            (.byLabel(["a": 1, "b": -1, "c": 1]), "invalid class weights: the weight of \"b\" is -1.0; weights must be finite and > 0"),
        ]
        for (weighting, message) in cases {
            XCTAssertEqual(dataError { _ = try weighting.weights(for: labels, trainingLabelIds: trainIds) }?.description, message)
        }
    }

    func testOversamplingTopsUpToTheMajority() {
        var input: [TextExample] = []
        for i in 0..<6 { input.append(example("a\(i)", "a")) }
        for i in 0..<3 { input.append(example("b\(i)", "b")) }
        input.append(example("c0", "c"))
        let (output, added) = RandomOversampling.oversample(input, seed: 11)
        XCTAssertEqual(added, ["a": 0, "b": 3, "c": 5])
        XCTAssertEqual(output.count, 18)
        XCTAssertEqual(Array(output.prefix(10)), input)  // originals first, unchanged
        let counts = output.reduce(into: [String: Int]()) { $0[$1.label, default: 0] += 1 }
        XCTAssertEqual(counts, ["a": 6, "b": 6, "c": 6])
        // Copies come from their own class only.
        XCTAssertTrue(output[10...].allSatisfy { $0.text.hasPrefix($0.label) })
        XCTAssertEqual(output[10...].filter { $0.label == "c" }.map(\.text), Array(repeating: "c0", count: 5))

        XCTAssertEqual(RandomOversampling.oversample(input, seed: 11).examples, output)
        let other = (0..<20).map { RandomOversampling.oversample(input, seed: UInt64($0)).examples.map(\.text) }
        XCTAssertGreaterThan(Set(other).count, 1, "the seed must change which examples are copied")
    }
}
