/// The element loops of the ring all-reduce (`RingAllReduce` in FTDist holds the ring: chunk and
/// segment arithmetic, the messages, the length checks, all checked): adding a received segment,
/// the average's division, and bfloat16 packing for `.bf16` compression.
/// Unchecked: the caller guarantees `count` elements behind every pointer.
public enum AllReduceKernel {
    /// destination[i] += source[i].
    public static func add(_ destination: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] += source[i] }
    }

    /// buffer[i] /= divisor (a division, not a multiply by the reciprocal, which rounds differently).
    public static func divide(_ buffer: UnsafeMutablePointer<Float>, by divisor: Float, count: Int) {
        for i in 0..<count { buffer[i] /= divisor }
    }

    /// buffer[i] ← buffer[i] rounded to bfloat16 (to nearest, ties to even) and widened back.
    public static func roundToBF16(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            buffer[i] = HalfPrecision.float(fromBF16Bits: HalfPrecision.bf16Bits(from: buffer[i]))
        }
    }

    /// packed[i] ← the bfloat16 bits of source[i].
    public static func packBF16(_ source: UnsafePointer<Float>, into packed: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count { packed[i] = HalfPrecision.bf16Bits(from: source[i]) }
    }

    /// destination[i] += the float of bfloat16 bits packed[i].
    public static func addBF16(_ packed: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] += HalfPrecision.float(fromBF16Bits: packed[i]) }
    }

    /// destination[i] ← the float of bfloat16 bits packed[i].
    public static func unpackBF16(_ packed: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = HalfPrecision.float(fromBF16Bits: packed[i]) }
    }
}
