// Storage types past f32 and f16 (seattn.h, seattn_dtype), read as 32-bit words and unpacked,
// so no 8- or 16-bit storage is needed: bf16 q, k, v; q8_0, q4_0 and fp8_e4m3 k and v; a bf16
// output is written with 32-bit atomics on its word. src/dtype.c decodes the same way (the CPU
// reference). The includer defines K_WORD(w), V_WORD(w) and Q_WORD(w): word w of the bound range.

// k's and v's type when it is none of f32 and f16 (the seattn_dtype value), else 0; the scales of
// an fp8 k and v (1 otherwise).
layout(constant_id = 21) const uint KT = 0u;
layout(constant_id = 22) const uint VT = 0u;
layout(constant_id = 23) const float KS = 1.0;
layout(constant_id = 24) const float VS = 1.0;
const uint T_BF16 = 2u, T_Q8_0 = 3u, T_Q4_0 = 4u, T_FP8 = 5u;
// DT's bits past the f16 ones: q is bf16 (16), the output is bf16 (128).
const bool Q_BF16 = (DT & 16u) != 0u;
const bool OUT_BF16 = (DT & 128u) != 0u;

// The byte at byte address a of word w, the 16 bits at (even) a as f16 or bf16.
uint byte_of(uint w, uint a) { return (w >> ((a & 3u) * 8u)) & 0xffu; }
float half_of(uint w, uint a) { return unpackHalf2x16((a & 2u) != 0u ? w >> 16u : w).x; }
float bf16_of(uint w, uint a) { return uintBitsToFloat((a & 2u) != 0u ? w & 0xffff0000u : w << 16u); }

// OCP E4M3FN: bias 7, 3 mantissa bits, subnormals m 2^-9, S.1111.111 NaN, no infinities.
float fp8_e4m3(uint b) {
    const uint e = (b >> 3u) & 15u, m = b & 7u;
    float x = e == 0u ? float(m) * (1.0 / 512.0) : uintBitsToFloat(((e + 120u) << 23u) | (m << 20u));
    if (e == 15u && m == 7u) x = uintBitsToFloat(0x7fc00000u);
    return (b & 0x80u) != 0u ? -x : x;
}

// Element i of the bound range of a tensor of type T_ (bf16, fp8: i counts elements from the
// range's start; a block type: from `off`, the byte where the view's first block starts, which
// the host passes as the view's offset): the byte addresses of its data (x) and of its block's
// f16 scale (y; x again for other types).
uvec2 raw_addr(uint t, uint i, uint off) {
    if (t == T_BF16) return uvec2(2u * i);
    if (t == T_FP8) return uvec2(i);
    const uint r = i - off, j = r & 31u;
    const uint blk = off + (r >> 5u) * (t == T_Q8_0 ? 34u : 18u);
    return uvec2(blk + 2u + (t == T_Q8_0 ? j : (j & 15u)), blk);
}
// The value from the words holding its data (wx) and its scale (wy).
float raw_value(uint t, float s, uint i, uint off, uvec2 a, uint wx, uint wy) {
    if (t == T_BF16) return bf16_of(wx, a.x);
    if (t == T_FP8) return fp8_e4m3(byte_of(wx, a.x)) * s;
    const float d = half_of(wy, a.y);
    if (t == T_Q8_0) return d * float(bitfieldExtract(int(wx), int((a.x & 3u) * 8u), 8));
    const uint b = byte_of(wx, a.x);
    return d * float(int(((i - off) & 31u) < 16u ? b & 15u : b >> 4u) - 8);
}
float k_raw(uint i) {
    const uvec2 a = raw_addr(KT, i, pc.k_off);
    return raw_value(KT, KS, i, pc.k_off, a, K_WORD(a.x >> 2u), K_WORD(a.y >> 2u));
}
float v_raw(uint i) {
    const uvec2 a = raw_addr(VT, i, pc.v_off);
    return raw_value(VT, VS, i, pc.v_off, a, V_WORD(a.x >> 2u), V_WORD(a.y >> 2u));
}
float q_bf16(uint i) { return bf16_of(Q_WORD(i >> 1u), 2u * i); }

// f32 -> bf16 bits, round to nearest even; NaN stays NaN.
uint bf16_bits(float x) {
    const uint u = floatBitsToUint(x);
    return isnan(x) ? (u >> 16u) | 0x40u : (u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u;
}
// Element i of a bf16 output (binding 3 as words, o_w): its half of the word, whose other half
// another invocation may be writing.
void store_bf16(uint i, float x) {
    const uint sh = (i & 1u) * 16u;
    atomicAnd(o_w[i >> 1u], ~(0xffffu << sh));
    atomicOr(o_w[i >> 1u], bf16_bits(x) << sh);
}
