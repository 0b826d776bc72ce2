import FTCore
@testable import FTFederated
import XCTest

/// FedProx's proximal gradient: μ·(w − w_global) on exactly the trainable elements.
final class FedProxTests: XCTestCase {
    func testProximalGradientPullsTrainableTensorsTowardsTheAnchor() {
        let store = ParameterStore(layout: [("frozen", [3]), ("a", [2]), ("b", [2])])
        store.setTrainable { $0 != "frozen" }
        for (i, v) in [1, 2, 3, 0.5, -1, 4, 0].enumerated() { store.values[i] = Float(v) }
        var prox = FedProx(mu: 0.1)
        prox.anchor(at: store)
        store.values[3] = 1.5  // a moved by +1
        store.values[6] = -2  // b moved by −2
        store.values[0] = 9  // frozen: no gradient to touch
        store.zeroGradients()
        prox.addProximalGradient(store)
        XCTAssertEqual(Array(store.gradients), [0.1, 0, 0, -0.2])
        XCTAssertEqual(store.trainableCount, 4)
        prox = FedProx(mu: 0)
        store.zeroGradients()
        prox.addProximalGradient(store)
        XCTAssertEqual(Array(store.gradients), [0, 0, 0, 0], "μ = 0 is plain FedAvg")
    }
}
