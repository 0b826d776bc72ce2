import FTCore
import XCTest

final class ParameterStoreTests: XCTestCase {
    func testViewsAreContiguousInLayoutOrder() {
        let store = ParameterStore(layout: [("a.weight", [2, 3]), ("a.bias", [3]), ("scalar", [])])
        XCTAssertEqual(store.count, 10)
        XCTAssertEqual(store.view("a.weight").range, 0..<6)
        XCTAssertEqual(store.view("a.bias").range, 6..<9)
        XCTAssertEqual(store.view("scalar").count, 1)
        XCTAssertEqual(store.values.count, store.gradients.count)
        XCTAssertTrue(store.values.allSatisfy { $0 == 0 })
        store.value("a.bias")[1] = 5
        XCTAssertEqual(store.values[7], 5)
        XCTAssertEqual(store.valueArray("a.bias"), [0, 5, 0])
        store.gradient("scalar")![0] = 3
        XCTAssertEqual(store.gradients[9], 3)
        store.zeroGradients()
        XCTAssertEqual(store.gradientArray("scalar"), [0])
        XCTAssertFalse(store.contains("missing"))
    }
}

final class ParameterStoreFreezingTests: XCTestCase {
    func testFrozenTensorsHaveNoGradientStorageAndTrainableOnesArePacked() {
        let store = ParameterStore(layout: [("a.weight", [2, 3]), ("a.bias", [3]), ("b.weight", [2]), ("c.weight", [4])])
        XCTAssertTrue(store.isFullyTrainable)
        store.setTrainable { $0 != "a.bias" && $0 != "b.weight" }
        XCTAssertEqual(store.count, 15, "values keep every tensor")
        XCTAssertEqual(store.trainableCount, 10)
        XCTAssertEqual(store.gradients.count, 10, "gradients hold the trainable tensors only")
        XCTAssertNil(store.gradient("a.bias"))
        XCTAssertNil(store.gradient("b.weight"))
        XCTAssertEqual(store.view("a.weight").gradientRange, 0..<6)
        XCTAssertEqual(store.view("c.weight").gradientRange, 6..<10, "packed right after a.weight")
        XCTAssertEqual(store.trainableViews.map(\.name), ["a.weight", "c.weight"])
        XCTAssertEqual(store.trainableRuns.map(\.valueOffset), [0, 11])
        XCTAssertEqual(store.trainableRuns.map(\.gradientOffset), [0, 6])
        XCTAssertEqual(store.trainableRuns.map(\.count), [6, 4])
        store.gradient("c.weight")![1] = 2
        XCTAssertEqual(store.gradients[7], 2)
        XCTAssertNil(store.gradient(spanning: ["a.weight", "a.bias"]), "a fused pair needs both trainable")
        store.setTrainable { _ in true }
        XCTAssertNotNil(store.gradient(spanning: ["a.weight", "a.bias", "b.weight"]))
        XCTAssertTrue(store.isFullyTrainable)
    }

    /// The trainable values come out packed in gradient order and go back to their own places,
    /// frozen tensors untouched.
    func testTrainableValuesPackAndUnpackInGradientOrder() {
        let store = ParameterStore(layout: [("a.weight", [2, 2]), ("a.bias", [2]), ("b.weight", [3])])
        for i in 0..<store.count { store.values[i] = Float(i) }
        store.setTrainable { $0 != "a.bias" }
        XCTAssertEqual(store.trainableValues(), [0, 1, 2, 3, 6, 7, 8])
        store.setTrainableValues([10, 11, 12, 13, 16, 17, 18])
        XCTAssertEqual(Array(store.values), [10, 11, 12, 13, 4, 5, 16, 17, 18])
    }
}
