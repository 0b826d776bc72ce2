/// Bit-exact conversions between `Float` and the two 16-bit floating-point
/// formats used by safetensors checkpoints:
///
/// * **F16** — IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
/// * **BF16** — bfloat16: 1 sign, 8 exponent (bias 127), 7 mantissa bits
///   (the top half of a binary32).
///
/// Narrowing (`Float` → 16 bits) rounds to nearest, ties to even, exactly like
/// NumPy's `astype(np.float16)` and PyTorch's `.to(torch.bfloat16)`; values too
/// large become ±infinity, values too small become (signed) zero or a
/// subnormal. Infinities keep their sign; NaNs stay NaN (quietened, sign and
/// top payload bits kept). Widening (16 bits → `Float`) is exact.
///
/// Implemented with integer bit operations only, so it does not depend on the
/// availability of the `Float16` type.
public enum HalfPrecision {

    // MARK: F16 (IEEE binary16)

    /// The F16 bit pattern nearest to `value` (round to nearest, ties to even).
    @inlinable
    public static func f16Bits(from value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        let mantissa = x & 0x7F_FFFF

        if exponent == 0xFF {  // infinity or NaN
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let e = exponent - 127 + 15  // re-biased exponent
        if e >= 0x1F { return sign | 0x7C00 }  // overflow → infinity
        if e <= 0 {
            // Result is an F16 subnormal (or zero): m_h = m × 2^(e-14), m has the implicit 1.
            let shift = 14 - e  // ≥ 14
            if shift > 24 { return sign }  // below half the smallest subnormal → ±0
            let m = mantissa | 0x80_0000
            var h = m >> UInt32(shift)
            let remainder = m & ((1 << UInt32(shift)) - 1)
            let halfway = UInt32(1) << UInt32(shift - 1)
            if remainder > halfway || (remainder == halfway && (h & 1) != 0) { h += 1 }
            // A carry out of the mantissa correctly yields the smallest normal (0x0400).
            return sign | UInt16(truncatingIfNeeded: h)
        }
        var h = (UInt32(e) << 10) | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && (h & 1) != 0) { h += 1 }
        // A carry may ripple into the exponent, up to 0x7C00 (= infinity), which is correct.
        return sign | UInt16(truncatingIfNeeded: h)
    }

    /// The exact `Float` value of an F16 bit pattern.
    @inlinable
    public static func float(fromF16Bits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32((bits >> 10) & 0x1F)
        var mantissa = UInt32(bits & 0x3FF)
        if exponent == 0x1F {  // infinity or NaN
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: mantissa × 2^-24. Normalise so the leading 1 sits at bit 10.
            var e: UInt32 = 113  // 127 - 15 + 1
            while mantissa & 0x400 == 0 {
                mantissa <<= 1
                e -= 1
            }
            return Float(bitPattern: sign | (e << 23) | ((mantissa & 0x3FF) << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    // MARK: BF16 (bfloat16)

    /// The BF16 bit pattern nearest to `value` (round to nearest, ties to even).
    @inlinable
    public static func bf16Bits(from value: Float) -> UInt16 {
        let x = value.bitPattern
        if x & 0x7FFF_FFFF > 0x7F80_0000 {  // NaN: truncate and force the quiet bit
            return UInt16(truncatingIfNeeded: x >> 16) | 0x0040
        }
        // Adding 0x7FFF (+1 when the kept LSB is odd) rounds to nearest even;
        // a carry into the exponent gives the next binade or infinity, as it should.
        let bias = 0x7FFF &+ ((x >> 16) & 1)
        return UInt16(truncatingIfNeeded: (x &+ bias) >> 16)
    }

    /// The exact `Float` value of a BF16 bit pattern.
    @inlinable
    public static func float(fromBF16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    // MARK: Bulk conversion

    /// Converts `source` to F16 bit patterns, element by element, into `destination`
    /// (which must have the same count).
    @inlinable
    public static func convertToF16(
        _ source: UnsafeBufferPointer<Float>,
        into destination: UnsafeMutableBufferPointer<UInt16>
    ) {
        precondition(source.count == destination.count, "HalfPrecision.convertToF16: count mismatch")
        for i in 0..<source.count { destination[i] = f16Bits(from: source[i]) }
    }

    /// Converts `source` to BF16 bit patterns, element by element, into `destination`
    /// (which must have the same count).
    @inlinable
    public static func convertToBF16(
        _ source: UnsafeBufferPointer<Float>,
        into destination: UnsafeMutableBufferPointer<UInt16>
    ) {
        precondition(source.count == destination.count, "HalfPrecision.convertToBF16: count mismatch")
        for i in 0..<source.count { destination[i] = bf16Bits(from: source[i]) }
    }

    /// Widens F16 bit patterns in `source` into `destination` (same count).
    @inlinable
    public static func convertFromF16(
        _ source: UnsafeBufferPointer<UInt16>,
        into destination: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(source.count == destination.count, "HalfPrecision.convertFromF16: count mismatch")
        for i in 0..<source.count { destination[i] = float(fromF16Bits: source[i]) }
    }

    /// Widens BF16 bit patterns in `source` into `destination` (same count).
    @inlinable
    public static func convertFromBF16(
        _ source: UnsafeBufferPointer<UInt16>,
        into destination: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(source.count == destination.count, "HalfPrecision.convertFromBF16: count mismatch")
        for i in 0..<source.count { destination[i] = float(fromBF16Bits: source[i]) }
    }
}
