/// Owns a set of float and int32 buffers that a model plans once and reuses every step,
/// so the hot loop allocates nothing. Buffers are freed together when the arena goes.
public final class ScratchArena: @unchecked Sendable {
    private var floatBuffers: [UnsafeMutablePointer<Float>] = []
    private var intBuffers: [UnsafeMutablePointer<Int32>] = []
    /// Total floats and int32s held, for memory reports.
    public private(set) var elementCount = 0

    public init() {}

    /// A zero-filled float buffer of `count` elements, alive as long as the arena.
    public func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
        floatBuffers.append(p)
        elementCount += count
        return p
    }

    /// A zero-filled int32 buffer of `count` elements, alive as long as the arena.
    public func int32s(_ count: Int) -> UnsafeMutablePointer<Int32> {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
        intBuffers.append(p)
        elementCount += count
        return p
    }

    deinit {
        floatBuffers.forEach { $0.deallocate() }
        intBuffers.forEach { $0.deallocate() }
    }
}
