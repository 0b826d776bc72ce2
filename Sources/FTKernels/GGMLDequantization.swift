/// ggml's de-quantisation loops (`ggml-quants.c` `dequantize_row_*`), bit for bit: every value is
/// computed in float32 with the same operations in the same order as ggml and gguf-py's NumPy
/// versions (`gguf/quants.py`), so the results are identical, not merely close.
///
/// Each function reads `blocks` consecutive blocks from `source` (little-endian, any alignment)
/// and writes `blocks × blockSize` floats to `destination`. The caller (FTCore's `GGUFFile`) has
/// checked that the bytes are inside the file and the destination is large enough.
public enum GGMLDequantization {
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        HalfPrecision.float(fromF16Bits: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// F16 → float32 (exact), `count` elements.
    public static func f16(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count { destination[i] = half(source, 2 * i) }
    }

    /// BF16 → float32 (exact: the top half of a binary32), `count` elements.
    public static func bf16(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            destination[i] = Float(bitPattern: UInt32(bits) << 16)
        }
    }

    /// Q8_0: 34-byte blocks of 32 — f16 scale `d`, 32 int8 `q`; x = q·d.
    public static func q8_0(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 34 * b
            let d = half(p, 0)
            let q = (p + 2).assumingMemoryBound(to: Int8.self)
            let y = destination + 32 * b
            for j in 0..<32 { y[j] = Float(q[j]) * d }
        }
    }

    /// Q4_0: 18-byte blocks of 32 — f16 `d`, 16 bytes of nibbles (low nibbles are elements 0…15,
    /// high nibbles 16…31); x = (q − 8)·d.
    public static func q4_0(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 18 * b
            let d = half(p, 0)
            let q = (p + 2).assumingMemoryBound(to: UInt8.self)
            let y = destination + 32 * b
            for j in 0..<16 {
                y[j] = Float(Int32(q[j] & 0x0F) - 8) * d
                y[j + 16] = Float(Int32(q[j] >> 4) - 8) * d
            }
        }
    }

    /// Q4_1: 20-byte blocks of 32 — f16 `d`, f16 `m`, 16 bytes of nibbles (as Q4_0); x = q·d + m.
    public static func q4_1(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 20 * b
            let d = half(p, 0)
            let m = half(p, 2)
            let q = (p + 4).assumingMemoryBound(to: UInt8.self)
            let y = destination + 32 * b
            for j in 0..<16 {
                y[j] = Float(q[j] & 0x0F) * d + m
                y[j + 16] = Float(q[j] >> 4) * d + m
            }
        }
    }

    /// Q4_K: 144-byte super-blocks of 256 — f16 `d`, f16 `dmin`, 12 bytes packing eight 6-bit scales
    /// and eight 6-bit mins (`get_scale_min_k4`), 128 bytes of nibbles. Sub-block `s` (32 elements)
    /// uses the low (even `s`) or high (odd `s`) nibbles of bytes 32·(s/2)…; x = (d·sc)·q − dmin·m.
    public static func q4_K(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 144 * b
            let d = half(p, 0)
            let dmin = half(p, 2)
            let scales = (p + 4).assumingMemoryBound(to: UInt8.self)
            let qs = (p + 16).assumingMemoryBound(to: UInt8.self)
            let y = destination + 256 * b
            for s in 0..<8 {
                let sc: UInt8
                let mn: UInt8
                if s < 4 {
                    sc = scales[s] & 63
                    mn = scales[s + 4] & 63
                } else {
                    sc = (scales[s + 4] & 0x0F) | ((scales[s - 4] >> 6) << 4)
                    mn = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4)
                }
                let d1 = d * Float(sc)
                let m1 = dmin * Float(mn)
                let q = qs + 32 * (s / 2)
                let shift = UInt8(4 * (s % 2))
                let out = y + 32 * s
                for l in 0..<32 { out[l] = d1 * Float((q[l] >> shift) & 0x0F) - m1 }
            }
        }
    }

    /// Q6_K: 210-byte super-blocks of 256 — 128 bytes `ql` (low 4 bits), 64 bytes `qh` (high 2 bits),
    /// 16 int8 scales (one per 16 elements), f16 `d`; x = (d·scale)·(q − 32), laid out as ggml's
    /// `dequantize_row_q6_K` (two halves of 128, each four runs of 32).
    public static func q6_K(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = source + 210 * b
            let ql0 = p.assumingMemoryBound(to: UInt8.self)
            let qh0 = (p + 128).assumingMemoryBound(to: UInt8.self)
            let sc0 = (p + 192).assumingMemoryBound(to: Int8.self)
            let d = half(p, 208)
            let y0 = destination + 256 * b
            for h in 0..<2 {
                let ql = ql0 + 64 * h
                let qh = qh0 + 32 * h
                let sc = sc0 + 8 * h
                let y = y0 + 128 * h
                for l in 0..<32 {
                    let i = l / 16
                    let q1 = Int32((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32
                    let q2 = Int32((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32
                    let q3 = Int32((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                    let q4 = Int32((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                    y[l] = d * Float(sc[i]) * Float(q1)
                    y[l + 32] = d * Float(sc[i + 2]) * Float(q2)
                    y[l + 64] = d * Float(sc[i + 4]) * Float(q3)
                    y[l + 96] = d * Float(sc[i + 6]) * Float(q4)
                }
            }
        }
    }
}
