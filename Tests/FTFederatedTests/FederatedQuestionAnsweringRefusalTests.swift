import FTFederated
import FTTrain
import Foundation
import TestSupport
import XCTest

/// Issue 22: federated training of extractive QA is not built; a federation configured with
/// `task: question_answering` is refused by name instead of being read as a sequence classifier.
final class FederatedQuestionAnsweringRefusalTests: XCTestCase {
    func testQuestionAnsweringIsRefusedByName() throws {
        var c = TrainingConfiguration()
        c.task = .questionAnswering
        c.modelDir = TestAssets.packageRoot.appendingPathComponent("Tests/FTModelTests/Fixtures/roberta_tiny").path
        c.peft = .lora
        XCTAssertThrowsError(try FederatedTask(configuration: c, labels: ["start", "end"])) { error in
            XCTAssertTrue("\(error)".contains("task: question_answering is not supported in federated training"), "\(error)")
        }
    }
}
