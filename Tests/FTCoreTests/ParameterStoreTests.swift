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
        store.gradient("scalar")[0] = 3
        XCTAssertEqual(store.gradients[9], 3)
        store.zeroGradients()
        XCTAssertEqual(store.gradientArray("scalar"), [0])
        XCTAssertFalse(store.contains("missing"))
    }
}
