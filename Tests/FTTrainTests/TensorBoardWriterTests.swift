import Foundation
import SwiftProtobuf
import XCTest

@testable import FTTrain

/// TensorBoard event files: CRC-32C against published vectors, the TFRecord framing against the
/// masked CRCs TensorBoard's own reader computes, and an event file read back record by record
/// (CRCs checked, `Event` protobufs decoded) with HF's tags, steps and values.
final class TensorBoardWriterTests: XCTestCase {
    func testCRC32CKnownVectors() {
        // RFC 3720 appendix B.4 and the usual check value of "123456789".
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map(UInt8.init)), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).reversed().map(UInt8.init)), 0x113F_DB5C)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // Masked values as TensorBoard's `masked_crc32c` computes them (tensorboard 2.x, Python).
        XCTAssertEqual(CRC32C.masked(CRC32C.checksum([UInt8](repeating: 0, count: 8))), 0x0798_0329)
        XCTAssertEqual(CRC32C.masked(CRC32C.checksum(Array("123456789".utf8))), 0xC78A_B0E5)
        XCTAssertEqual(CRC32C.masked(CRC32C.checksum([12, 0, 0, 0, 0, 0, 0, 0])), 0x0AFE_C8F4)
    }

    func testFraming() {
        let payload = Data("123456789".utf8)
        let frame = TFRecordWriter.frame(payload)
        XCTAssertEqual(frame.count, 8 + 4 + 9 + 4)
        XCTAssertEqual(Array(frame.prefix(8)), [9, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(frame[12..<21]), Array(payload))
        XCTAssertEqual(Array(frame.suffix(4)), [0xE5, 0xB0, 0x8A, 0xC7], "the payload's masked CRC, little-endian")
    }

    func testHuggingFaceTags() {
        XCTAssertEqual(TensorBoardWriter.tag(for: "loss"), "train/loss")
        XCTAssertEqual(TensorBoardWriter.tag(for: "learning_rate"), "train/learning_rate")
        XCTAssertEqual(TensorBoardWriter.tag(for: "eval_accuracy"), "eval/accuracy")
        XCTAssertEqual(TensorBoardWriter.tag(for: "test_f1_macro"), "test/f1_macro")
        XCTAssertEqual(TensorBoardWriter.tag(for: "train_loss"), "train/train_loss")
    }

    func testEventFileReadsBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logDirectory = TensorBoardWriter.defaultLogDirectory(output: directory)
        XCTAssertEqual(logDirectory.deletingLastPathComponent().lastPathComponent, "runs")
        let writer = try TensorBoardWriter(logDirectory: logDirectory)
        try writer.text("args", "learning_rate: 0.001 <b>")
        try writer.record(["step": 10, "loss": 0.5, "learning_rate": 1e-3, "epoch": 0.25])
        try writer.record(["step": 20, "eval_accuracy": 0.75])
        try writer.record(["loss": 1])  // no step: not written
        XCTAssertTrue(URL(fileURLWithPath: writer.path).lastPathComponent.hasPrefix("events.out.tfevents."))

        let events = try Self.readEvents(Data(contentsOf: URL(fileURLWithPath: writer.path)))
        XCTAssertEqual(events.count, 4)
        XCTAssertEqual(events[0].fileVersion, "brain.Event:2")
        let text = events[1].summary.value[0]
        XCTAssertEqual(text.tag, "args/text_summary")
        XCTAssertEqual(text.metadata.pluginData.pluginName, "text")
        XCTAssertEqual(text.tensor.dtype, .dtString)
        XCTAssertEqual(text.tensor.stringVal, [Data("learning_rate: 0.001 <b>".utf8)])
        XCTAssertEqual(events[2].step, 10)
        let scalars = Dictionary(uniqueKeysWithValues: events[2].summary.value.map { ($0.tag, $0.simpleValue) })
        XCTAssertEqual(scalars, ["train/loss": 0.5, "train/learning_rate": 1e-3, "train/epoch": 0.25])
        XCTAssertEqual(events[3].step, 20)
        XCTAssertEqual(events[3].summary.value.map(\.tag), ["eval/accuracy"])
        XCTAssertEqual(events[3].summary.value[0].simpleValue, 0.75)
        XCTAssertGreaterThan(events[3].wallTime, 1.7e9)
    }

    /// The records of a TFRecord file, every CRC checked, decoded as `Event`s.
    static func readEvents(_ data: Data) throws -> [Tensorboard_Event] {
        let bytes = [UInt8](data)
        var events: [Tensorboard_Event] = []
        var offset = 0
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        while offset < bytes.count {
            XCTAssertLessThanOrEqual(offset + 12, bytes.count, "truncated header")
            let length = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) })
            XCTAssertEqual(u32(offset + 8), CRC32C.masked(CRC32C.checksum(bytes[offset..<offset + 8])), "length CRC")
            let payload = bytes[(offset + 12)..<(offset + 12 + length)]
            XCTAssertEqual(u32(offset + 12 + length), CRC32C.masked(CRC32C.checksum(payload)), "data CRC")
            events.append(try Tensorboard_Event(serializedBytes: Array(payload)))
            offset += 16 + length
        }
        return events
    }
}
