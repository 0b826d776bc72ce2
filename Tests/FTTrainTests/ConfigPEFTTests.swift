import FTModel
@testable import FTTrain
import XCTest

/// The PEFT and freezing settings: flags, validation messages naming the key, and which tensors
/// each setting trains.
final class ConfigPEFTTests: XCTestCase {
    func testLayerSelectionParsesIndicesAndRanges() {
        XCTAssertEqual(LayerSelection.parse("0-3"), [0, 1, 2, 3])
        XCTAssertEqual(LayerSelection.parse("0,2"), [0, 2])
        XCTAssertEqual(LayerSelection.parse(" 0-1, 4 "), [0, 1, 4])
        for bad in ["", "a", "3-1", "-1", "1-", "0,,2", "1-2-3"] { XCTAssertNil(LayerSelection.parse(bad), bad) }
    }

    func testFlagsSetTheKeys() throws {
        var c = TrainingConfiguration()
        try c.applyOverrides([
            "--peft", "lora", "--lora-target-modules", "query,key,value", "--lora-bias", "lora_only",
            "--modules-to-save", "[classifier, pooler.dense]", "--use-rslora", "--freeze-layers", "0-2",
            "--freeze-embeddings", "--lora-r", "4",
        ])
        XCTAssertEqual(c.peft, .lora)
        XCTAssertEqual(c.loraTargetModules.names, ["query", "key", "value"])
        XCTAssertEqual(c.loraBias, .loraOnly)
        XCTAssertEqual(c.modulesToSave?.names, ["classifier", "pooler.dense"])
        XCTAssertTrue(c.useRSLoRA && c.freezeEmbeddings)
        XCTAssertEqual(c.frozenLayers, [0, 1, 2])
        XCTAssertEqual(c.loraConfiguration?.rank, 4)
        XCTAssertEqual(c.loraConfiguration?.scaling, Float(8 / 2.0), "alpha / sqrt(r)")
    }

    func testTrainabilityFollowsPEFTAndFreezing() {
        var c = TrainingConfiguration()
        c.freezeEmbeddings = true
        c.freezeLayers = "0"
        XCTAssertFalse(c.isTrainable("embeddings.word_embeddings.weight"))
        XCTAssertFalse(c.isTrainable("encoder.layer.0.output.dense.weight"))
        XCTAssertTrue(c.isTrainable("encoder.layer.1.output.dense.weight"))
        XCTAssertTrue(c.isTrainable("encoder.layer.10.output.dense.weight"), "layer 10 is not layer 0")
        c = TrainingConfiguration()
        c.peft = .lora
        c.loraBias = .all
        XCTAssertTrue(c.isTrainable("encoder.layer.3.attention.self.value.lora_B.weight"))
        XCTAssertTrue(c.isTrainable("embeddings.LayerNorm.bias"), "bias all: every bias, as PEFT")
        XCTAssertFalse(c.isTrainable("encoder.layer.3.attention.self.value.weight"))
        XCTAssertTrue(c.isTrainable("classifier.weight"), "the head is saved by default")
        XCTAssertFalse(c.isTrainable("pooler.dense.weight"))
        c.peft = .adapter
        XCTAssertTrue(c.isTrainable("encoder.layer.2.output.adapter.up.weight"))
        XCTAssertTrue(c.isTrainable("classifier.bias"))
        XCTAssertFalse(c.isTrainable("encoder.layer.2.output.dense.bias"))
    }

    func testBadValuesAreNamed() {
        func keys(_ change: (inout TrainingConfiguration) -> Void) -> [String] {
            var c = TrainingConfiguration()
            c.outputDir = "o"
            c.modelDir = "m"
            c.trainFile = "t.csv"
            change(&c)
            return c.validationProblems().compactMap(\.key)
        }
        XCTAssertEqual(keys { $0.freezeLayers = "top" }, ["freeze_layers"])
        XCTAssertEqual(
            keys {
                $0.peft = .lora
                $0.loraR = 0
            }, ["lora_r"])
        XCTAssertEqual(
            keys {
                $0.peft = .lora
                $0.loraDropout = 1
            }, ["lora_dropout"])
        XCTAssertEqual(
            keys {
                $0.peft = .lora
                $0.loraTargetModules = ["classifier"]
            }, ["lora_target_modules"], "the head is saved whole")
        XCTAssertEqual(
            keys {
                $0.peft = .lora
                $0.loraTargetModules = ["dense"]
            }, [], "dense: every dense layer, the pooler's too")
        XCTAssertEqual(
            keys {
                $0.peft = .lora
                $0.modulesToSave = ["query"]
            }, ["modules_to_save"])
        XCTAssertEqual(keys { $0.useRSLoRA = true }, ["use_rslora"], "a LoRA setting without peft lora")
        XCTAssertEqual(
            keys {
                $0.peft = .adapter
                $0.adapterReductionFactor = 0
            }, ["adapter_reduction_factor"])
        XCTAssertEqual(
            keys {
                $0.peft = .lora
                $0.loraTargetModules = ["query", "value", "output.dense"]
            }, [])
    }
}
