import FTCore
import Foundation
import XCTest

/// The one staged-directory writer: a directory appears under its name complete or not at all.
final class StagedDirectoryTests: XCTestCase {
    func testCommitReplacesAndAFailureLeavesNothing() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-staged-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let destination = root.appendingPathComponent("model")
        let staged = StagedDirectory(destination: destination)
        XCTAssertEqual(staged.url.lastPathComponent, ".model.partial-\(ProcessInfo.processInfo.processIdentifier)")
        XCTAssertEqual(StagedDirectory(destination: destination, marker: "partial", unique: false).url.lastPathComponent, ".model.partial")

        try StagedDirectory.write(destination) { try $0.write(Data("1".utf8), to: "a.txt", durable: true) }
        try StagedDirectory.write(destination, durable: true) { try $0.write(Data("2".utf8), to: "b.txt") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: destination.path), ["b.txt"], "the commit replaced the old directory")

        struct Failure: Error {}
        XCTAssertThrowsError(
            try StagedDirectory.write(destination) { staged in
                try staged.write(Data("3".utf8), to: "c.txt")
                throw Failure()
            })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["model"], "no staging directory is left")
        XCTAssertEqual(try String(contentsOf: destination.appendingPathComponent("b.txt"), encoding: .utf8), "2")

        let partial = StagedDirectory(destination: destination, marker: "partition")
        try partial.create()
        try partial.write(Data("4".utf8), to: "site-1.csv")
        try partial.commitFiles(["site-1.csv"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: destination.path).sorted(), ["b.txt", "site-1.csv"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["model"])
    }
}
