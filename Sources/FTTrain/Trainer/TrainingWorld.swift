/// The processes that train one model together, as the trainer sees them: a rank, a size, and the
/// three collective operations data-parallel training needs. FTTrain stays free of MPI: the
/// command line adapts FTDist's communicators to this protocol.
///
/// Conventions (nanoGPT, llm.c): rank 0 is the coordinator and alone logs and writes; gradients are
/// *averaged*; every call is collective (all ranks call it, in the same order).
public protocol TrainingWorld: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// buffer ← the mean of `buffer` over all ranks, exactly in float32 (losses, counters).
    func averageInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// The gradient's average over ranks; a world may compress it on the wire.
    func averageGradientsInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// buffer ← rank 0's `buffer`.
    func broadcastFromCoordinator(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// Throws on every rank unless all ranks passed the same `value`; `what` names it in the error.
    func checkSame(_ value: UInt64, what: String) throws
}

extension TrainingWorld {
    public var isCoordinator: Bool { rank == 0 }

    public func averageGradientsInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        try averageInPlace(buffer, count: count)
    }
}

/// One process: every collective is the identity.
public final class SingleProcessWorld: TrainingWorld {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func averageInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    public func broadcastFromCoordinator(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    public func checkSame(_ value: UInt64, what: String) throws {}
}

/// FNV-1a over bytes: a cheap checksum to verify that every rank loaded the same model and settings.
public struct Checksum {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
    }

    public mutating func add(_ text: String) {
        var copy = text
        copy.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }
}
