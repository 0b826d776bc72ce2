import XCTest
import Foundation
@testable import FTDist

final class InProcessCommunicatorTests: XCTestCase {
    struct Planned: Error, Equatable {}

    func testSendCopiesSoSenderMayReuseBuffer() throws {
        let received = try InProcessCommunicator.run(size: 2, receiveTimeout: 5) { comm -> [Float] in
            var buffer: [Float] = [1, 2, 3]
            if comm.rank == 0 {
                try comm.send(buffer, count: 3, to: 1, tag: 7)
                buffer = [9, 9, 9]
                try comm.send(buffer, count: 3, to: 1, tag: 7)
                return []
            }
            var first = [Float](repeating: 0, count: 3), second = first
            try comm.receive(&first, count: 3, from: 0, tag: 7)
            try comm.receive(&second, count: 3, from: 0, tag: 7)
            return first + second  // FIFO order per (source, tag)
        }
        XCTAssertEqual(received[1], [1, 2, 3, 9, 9, 9])
    }

    func testTagsAreSeparateMailboxes() throws {
        let received = try InProcessCommunicator.run(size: 2, receiveTimeout: 5) { comm -> [Float] in
            if comm.rank == 0 {
                try comm.send([1], count: 1, to: 1, tag: 1)
                try comm.send([2], count: 1, to: 1, tag: 2)
                return []
            }
            var a: [Float] = [0], b: [Float] = [0]
            try comm.receive(&b, count: 1, from: 0, tag: 2)
            try comm.receive(&a, count: 1, from: 0, tag: 1)
            return a + b
        }
        XCTAssertEqual(received[1], [1, 2])
    }

    func testSendReceiveRingDoesNotDeadlock() throws {
        let results = try InProcessCommunicator.run(size: 5, receiveTimeout: 5) { comm -> Float in
            var incoming: [Float] = [0]
            try comm.sendReceive(
                send: [Float(comm.rank)], sendCount: 1, to: (comm.rank + 1) % 5,
                receive: &incoming, receiveCount: 1, from: (comm.rank + 4) % 5, tag: 0)
            return incoming[0]
        }
        XCTAssertEqual(results, [4, 0, 1, 2, 3])
    }

    func testReceiveTimeoutThrowsNamingThePeer() throws {
        let start = Date()
        XCTAssertThrowsError(
            try InProcessCommunicator.run(size: 2, receiveTimeout: 0.2) { comm in
                if comm.rank == 0 {
                    var buffer: [Float] = [0]
                    try comm.receive(&buffer, count: 1, from: 1, tag: 3)  // rank 1 never sends
                }
            }
        ) { error in
            let error = error as? CommunicatorError
            XCTAssertEqual(error?.kind, .timeout)
            XCTAssertEqual(error?.peer, 1)
            XCTAssertTrue(error?.description.contains("from rank 1") ?? false, "\(String(describing: error))")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testLengthMismatchOnReceiveThrows() throws {
        XCTAssertThrowsError(
            try InProcessCommunicator.run(size: 2, receiveTimeout: 5) { comm in
                if comm.rank == 0 {
                    try comm.send([1, 2, 3], count: 3, to: 1, tag: 0)
                } else {
                    var buffer: [Float] = [0, 0]
                    try comm.receive(&buffer, count: 2, from: 0, tag: 0)
                }
            }
        ) { error in
            XCTAssertEqual((error as? CommunicatorError)?.kind, .sizeMismatch)
            XCTAssertEqual((error as? CommunicatorError)?.peer, 0)
        }
    }

    func testFailingRankAbortsOthersAndItsErrorIsRethrown() throws {
        let start = Date()
        XCTAssertThrowsError(
            try InProcessCommunicator.run(size: 3, receiveTimeout: 30) { comm in
                if comm.rank == 1 { throw Planned() }
                if comm.rank == 0 {
                    var buffer: [Float] = [0]
                    try comm.receive(&buffer, count: 1, from: 1, tag: 0)  // would wait 30 s without abort
                } else {
                    try comm.barrier()
                }
            }
        ) { error in
            XCTAssertEqual(error as? Planned, Planned())
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    func testBarrierReleasesAllRanksRepeatedly() throws {
        let counter = Counter()
        let seen = try InProcessCommunicator.run(size: 4, receiveTimeout: 5) { comm -> [Int] in
            var observed: [Int] = []
            for _ in 0..<3 {
                counter.increment()
                try comm.barrier()
                observed.append(counter.value)  // everyone has incremented
                try comm.barrier()
            }
            return observed
        }
        for observed in seen { XCTAssertEqual(observed, [4, 8, 12]) }
    }

    func testInvalidPeerThrows() throws {
        let comm = InProcessCommunicator.makeWorld(size: 2)[0]
        XCTAssertThrowsError(try comm.send([1], count: 1, to: 2, tag: 0)) { error in
            XCTAssertEqual((error as? CommunicatorError)?.kind, .invalidArgument)
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
