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
// f16 bits h (the low 16) exactly, by bits (llvmpipe of Mesa 22.3 runs unpackHalf2x16 slowly,
// measured: an f16 cache read through it decoded 2.2 times slower than from RGBA16F texels)
float half_bits(uint h) {
    const uint e = (h >> 10u) & 31u, m = h & 0x3ffu;
    const float x = e == 0u ? float(m) * (1.0 / 16777216.0) // subnormal: m 2^-24
                            : uintBitsToFloat(e == 31u ? 0x7f800000u | (m << 13u)
                                                       : ((e + 112u) << 23u) | (m << 13u));
    return (h & 0x8000u) != 0u ? -x : x;
}
float half_of(uint w, uint a) { return half_bits((a & 2u) != 0u ? w >> 16u : w & 0xffffu); }
float bf16_of(uint w, uint a) { return uintBitsToFloat((a & 2u) != 0u ? w & 0xffff0000u : w << 16u); }

// OCP E4M3FN: bias 7, 3 mantissa bits, subnormals m 2^-9, S.1111.111 NaN, no infinities.
float fp8_e4m3(uint b) {
    const uint e = (b >> 3u) & 15u, m = b & 7u;
    float x = e == 0u ? float(m) * (1.0 / 512.0) : uintBitsToFloat(((e + 120u) << 23u) | (m << 20u));
    if (e == 15u && m == 7u) x = uintBitsToFloat(0x7fc00000u);
    return (b & 0x80u) != 0u ? -x : x;
}

// Four fp8 values in the bytes of w (byte k: value k), fp8_e4m3 four at a time: a normal
// value's exponent and mantissa moved into an f32's, a subnormal from its mantissa; the caller
// scales.
vec4 fp8x4(uint w) {
    const uvec4 c = (uvec4(w) >> uvec4(0u, 8u, 16u, 24u)) & 0xffu, mag = c & 0x7fu;
    const vec4 nrm = uintBitsToFloat((mag << 20u) + (120u << 23u));
    const vec4 sub = vec4(mag & 7u) * (1.0 / 512.0);
    vec4 x = mix(nrm, sub, lessThan(mag, uvec4(8u)));
    x = mix(x, vec4(uintBitsToFloat(0x7fc00000u)), equal(mag, uvec4(0x7fu)));
    return mix(x, -x, notEqual(c & 0x80u, uvec4(0u)));
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

// Four values i .. i + 3, i a multiple of 4 (from the range's start; a block type's from `off`,
// and a run of four never leaves its block): two words for bf16, one for fp8; a block type's
// four bytes from the two words around them (a block's data starts on an even byte) and its
// scale's word. The decoding of each value is raw_value's.
vec4 raw4_value(uint t, float s, uint i, uint off, uint w0, uint w1, uint ws) {
    if (t == T_BF16)
        return vec4(uintBitsToFloat(w0 << 16u), uintBitsToFloat(w0 & 0xffff0000u),
                    uintBitsToFloat(w1 << 16u), uintBitsToFloat(w1 & 0xffff0000u));
    if (t == T_FP8) return fp8x4(w0) * s;
    const uint r = i - off, j = r & 31u;
    const uint blk = off + (r >> 5u) * (t == T_Q8_0 ? 34u : 18u);
    const uint a = blk + 2u + (t == T_Q8_0 ? j : (j & 15u));
    const uint b = (a & 2u) != 0u ? (w0 >> 16u) | (w1 << 16u) : w0; // bytes a .. a + 3
    const float d = half_of(ws, blk);
    if (t == T_Q8_0)
        return d * vec4(bitfieldExtract(int(b), 0, 8), bitfieldExtract(int(b), 8, 8),
                        bitfieldExtract(int(b), 16, 8), bitfieldExtract(int(b), 24, 8));
    const uint n = j < 16u ? b & 0x0f0f0f0fu : (b >> 4u) & 0x0f0f0f0fu; // the four nibbles
    return d * (vec4(float(n & 15u), float((n >> 8u) & 15u), float((n >> 16u) & 15u),
                     float(n >> 24u)) - 8.0);
}
// The word indices raw4_value reads: its first word, the second (the first again where the four
// values fit in one: never a word past the view), and the block's scale's.
uvec3 raw4_words(uint t, uint i, uint off) {
    if (t == T_BF16) return uvec3(i >> 1u, (i >> 1u) + 1u, i >> 1u);
    if (t == T_FP8) return uvec3(i >> 2u);
    const uint r = i - off, j = r & 31u;
    const uint blk = off + (r >> 5u) * (t == T_Q8_0 ? 34u : 18u);
    const uint a = blk + 2u + (t == T_Q8_0 ? j : (j & 15u));
    return uvec3(a >> 2u, (a >> 2u) + ((a >> 1u) & 1u), blk >> 2u);
}
vec4 k_raw4(uint i) {
    const uvec3 w = raw4_words(KT, i, pc.k_off);
    return raw4_value(KT, KS, i, pc.k_off, K_WORD(w.x), K_WORD(w.y), K_WORD(w.z));
}
vec4 v_raw4(uint i) {
    const uvec3 w = raw4_words(VT, i, pc.v_off);
    return raw4_value(VT, VS, i, pc.v_off, V_WORD(w.x), V_WORD(w.y), V_WORD(w.z));
}

#ifdef K_TEX4
// Eight values i .. i + 7 from RGBA32UI texels (texel.comp's KV_RUN8 views; the includer
// defines K_TEX4(t) and V_TEX4(t): texel t): i a multiple of 8, bf16 runs on 16 bytes (one
// texel), fp8 runs on 8 (half of one), a block type's eight bytes (q4_0: the bytes of their
// nibbles) in the one or two texels they lie in, and its scale in a third.
uint word2(uvec4 a, uvec4 b, uint k) { return k < 4u ? a[k] : b[k - 4u]; }
// The texels raw8_values reads: the data's first and last, and the block's scale's.
uvec3 raw8_texels(uint t, uint i, uint off) {
    if (t == T_BF16) return uvec3(i >> 3u);
    if (t == T_FP8) return uvec3(i >> 4u);
    const uint r = i - off, j = r & 31u;
    const uint blk = off + (r >> 5u) * (t == T_Q8_0 ? 34u : 18u);
    const uint a = blk + 2u + (t == T_Q8_0 ? j : (j & 15u));
    return uvec3(a >> 4u, (a + 7u) >> 4u, blk >> 4u);
}
void raw8_values(uint t, float s, uint i, uint off, uvec4 ta, uvec4 tb, uvec4 ts, out vec4 x0,
                 out vec4 x1) {
    if (t == T_BF16) {
        x0 = vec4(uintBitsToFloat(ta.x << 16u), uintBitsToFloat(ta.x & 0xffff0000u),
                  uintBitsToFloat(ta.y << 16u), uintBitsToFloat(ta.y & 0xffff0000u));
        x1 = vec4(uintBitsToFloat(ta.z << 16u), uintBitsToFloat(ta.z & 0xffff0000u),
                  uintBitsToFloat(ta.w << 16u), uintBitsToFloat(ta.w & 0xffff0000u));
        return;
    }
    if (t == T_FP8) {
        const uint k = (i >> 2u) & 3u; // 0 or 2
        x0 = fp8x4(ta[k]) * s;
        x1 = fp8x4(ta[k + 1u]) * s;
        return;
    }
    const uint r = i - off, j = r & 31u;
    const uint blk = off + (r >> 5u) * (t == T_Q8_0 ? 34u : 18u);
    const uint a = blk + 2u + (t == T_Q8_0 ? j : (j & 15u)), o = a & 15u, k = o >> 2u;
    const uint w0 = word2(ta, tb, k), w1 = word2(ta, tb, k + 1u), w2 = word2(ta, tb, min(k + 2u, 7u));
    const bool odd = (o & 2u) != 0u; // the bytes start mid-word
    const uint b0 = odd ? (w0 >> 16u) | (w1 << 16u) : w0, b1 = odd ? (w1 >> 16u) | (w2 << 16u) : w1;
    const float d = half_of(ts[(blk >> 2u) & 3u], blk);
    if (t == T_Q8_0) {
        x0 = d * vec4(bitfieldExtract(int(b0), 0, 8), bitfieldExtract(int(b0), 8, 8),
                      bitfieldExtract(int(b0), 16, 8), bitfieldExtract(int(b0), 24, 8));
        x1 = d * vec4(bitfieldExtract(int(b1), 0, 8), bitfieldExtract(int(b1), 8, 8),
                      bitfieldExtract(int(b1), 16, 8), bitfieldExtract(int(b1), 24, 8));
        return;
    }
    const uint n0 = j < 16u ? b0 & 0x0f0f0f0fu : (b0 >> 4u) & 0x0f0f0f0fu;
    const uint n1 = j < 16u ? b1 & 0x0f0f0f0fu : (b1 >> 4u) & 0x0f0f0f0fu;
    x0 = d * (vec4(n0 & 15u, (n0 >> 8u) & 15u, (n0 >> 16u) & 15u, n0 >> 24u) - 8.0);
    x1 = d * (vec4(n1 & 15u, (n1 >> 8u) & 15u, (n1 >> 16u) & 15u, n1 >> 24u) - 8.0);
}
void k_raw8(uint i, out vec4 x0, out vec4 x1) {
    const uvec3 tx = raw8_texels(KT, i, pc.k_off);
    const uvec4 ta = K_TEX4(tx.x);
    if (KT == T_BF16 || KT == T_FP8)
        raw8_values(KT, KS, i, pc.k_off, ta, ta, ta, x0, x1);
    else raw8_values(KT, KS, i, pc.k_off, ta, K_TEX4(tx.y), K_TEX4(tx.z), x0, x1);
}
void v_raw8(uint i, out vec4 x0, out vec4 x1) {
    const uvec3 tx = raw8_texels(VT, i, pc.v_off);
    const uvec4 ta = V_TEX4(tx.x);
    if (VT == T_BF16 || VT == T_FP8)
        raw8_values(VT, VS, i, pc.v_off, ta, ta, ta, x0, x1);
    else raw8_values(VT, VS, i, pc.v_off, ta, V_TEX4(tx.y), V_TEX4(tx.z), x0, x1);
}
#endif

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
