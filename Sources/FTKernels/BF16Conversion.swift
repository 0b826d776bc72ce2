/// Float32 → bfloat16 rounding of whole matrices (nearest, ties to even; NaN stays NaN), the
/// operand preparation of `BF16Products` and of bf16 weight copies. Vectorised: 8 lanes of
/// integer arithmetic on the bit patterns, the same rule as `HalfPrecision.bf16Bits(from:)`.
public enum BF16Conversion {
    /// destination (rows, columns), dense ← source (rows, columns) with row stride `stride`, rounded.
    public static func round(
        _ source: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int,
        into destination: UnsafeMutablePointer<UInt16>
    ) {
        if stride == columns {
            round(source, count: rows * columns, into: destination)
        } else {
            for r in 0..<rows { round(source + r * stride, count: columns, into: destination + r * columns) }
        }
    }

    /// destination[i] ← bf16(source[i]) for `count` elements.
    public static func round(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutablePointer<UInt16>) {
        typealias U = SIMD8<UInt32>
        let vectorEnd = count - count % 8
        let raw = UnsafeRawPointer(source)
        var i = 0
        while i < vectorEnd {
            let x = raw.loadUnaligned(fromByteOffset: i * 4, as: U.self)
            let magnitude = x & U(repeating: 0x7FFF_FFFF)
            let rounded = (x &+ U(repeating: 0x7FFF) &+ ((x &>> 16) & U(repeating: 1))) &>> 16
            let quietNaN = (x &>> 16) | U(repeating: 0x40)
            let bits = rounded.replacing(with: quietNaN, where: magnitude .> U(repeating: 0x7F80_0000))
            UnsafeMutableRawPointer(destination + i).storeBytes(
                of: SIMD8<UInt16>(truncatingIfNeeded: bits), as: SIMD8<UInt16>.self)
            i += 8
        }
        while i < count {
            destination[i] = HalfPrecision.bf16Bits(from: source[i])
            i += 1
        }
    }

    /// destination[i] ← the float nearest source[i] that bf16 holds exactly (the rounding above,
    /// widened back): what a bf16 product sees of a float32 operand.
    public static func roundToFloat(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count { destination[i] = HalfPrecision.float(fromBF16Bits: HalfPrecision.bf16Bits(from: source[i])) }
    }
}
