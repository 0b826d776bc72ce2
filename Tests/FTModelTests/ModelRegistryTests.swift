import FTModel
import Foundation
import XCTest

/// The registry picks a family as Hugging Face's `Auto*` classes do, and refuses what it cannot compute by name.
final class ModelRegistryTests: XCTestCase {
    func family(_ object: [String: Any]) throws -> EncoderFamily {
        try ModelRegistry.encoderFamily(of: ConfigJSON(path: "/models/x/config.json", object: object))
    }

    func testModelTypeThenArchitecturesPickTheFamily() throws {
        XCTAssertEqual(try family(["model_type": "bert"]), .bert)
        XCTAssertEqual(try family(["model_type": "distilbert", "architectures": ["BertModel"]]), .distilBERT, "model_type wins")
        XCTAssertEqual(try family(["architectures": ["DistilBertForSequenceClassification"]]), .distilBERT)
        XCTAssertEqual(try family(["architectures": ["BertForMaskedLM"]]), .bert)
        XCTAssertEqual(try family([:]), .bert, "old BERT configs carry neither key")
    }

    func testAnUnknownFamilyIsRefusedByName() {
        XCTAssertThrowsError(try family(["model_type": "llama"])) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("/models/x/config.json") && message.contains("model_type \"llama\""), message)
            XCTAssertTrue(message.contains("distilbert"), "the supported families are listed: \(message)")
        }
        XCTAssertThrowsError(try family(["architectures": ["AlbertForSequenceClassification"]])) { error in
            XCTAssertTrue("\(error)".contains("AlbertForSequenceClassification"), "\(error)")
        }
        XCTAssertEqual(try family(["architectures": ["RobertaForSequenceClassification"]]), .roberta)
    }

    func testDistilBertKeysAndTheirErrors() throws {
        let good: [String: Any] = [
            "model_type": "distilbert", "vocab_size": 30, "dim": 16, "n_layers": 2, "n_heads": 4,
            "hidden_dim": 20, "sinusoidal_pos_embds": true, "seq_classif_dropout": 0.3,
        ]
        let config = try EncoderFamily.distilBERT.readConfig(ConfigJSON(path: "c.json", object: good))
        XCTAssertEqual([config.hiddenSize, config.numHiddenLayers, config.numAttentionHeads, config.intermediateSize], [16, 2, 4, 20])
        XCTAssertEqual(config.positionEncoding, .sinusoidal)
        XCTAssertEqual(config.classifierDropout, 0.3)
        XCTAssertEqual(config.typeVocabSize, 0)
        var bad = good
        bad["n_heads"] = 3
        let odd = try EncoderFamily.distilBERT.readConfig(ConfigJSON(path: "c.json", object: bad))
        XCTAssertThrowsError(try odd.validate(source: "c.json")) { error in
            XCTAssertEqual("\(error)", "c.json: dim 16 is not a multiple of n_heads 3", "messages use the family's keys")
        }
        bad = good
        bad["dim"] = "sixteen"
        XCTAssertThrowsError(try EncoderFamily.distilBERT.readConfig(ConfigJSON(path: "c.json", object: bad))) { error in
            XCTAssertEqual("\(error)", "c.json: wrong type for \"dim\" (expected an integer)")
        }
        bad = good
        bad["activation"] = "relu"
        XCTAssertThrowsError(try EncoderFamily.distilBERT.readConfig(ConfigJSON(path: "c.json", object: bad)).validate(source: "c.json")) { error in
            XCTAssertTrue("\(error)".contains("activation \"relu\" is not supported"), "\(error)")
        }
    }
}
