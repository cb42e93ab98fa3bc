// RoPE angles from the host's double-precision table (src/vulkan/rope.c), read through
// ROPE_FETCH(index) -> vec2(cos, sin). With RHP = rot_half rounded up to even and
// L = 1 << ROPE_SHIFT, entry a * RHP + m holds the angle a * f_m for a < L, and entry
// (L + b) * RHP + m the angle b L f_m. So |pos| = a + b L is at most two entries and one complex
// product: a few f32 ulps for any |pos| < 2^24, where pos * f_m computed in f32 would already be
// off by radians.
vec2 rope_cs(int pos, uint m) {
    const uint rhp = (pc.rot_half + 1u) & ~1u;
    const uint a = uint(abs(pos));
#ifdef ROPE_ONE_LEVEL // a constant: every |pos| the call asks for is below L
    if (ROPE_ONE_LEVEL) {
        const vec2 c = ROPE_FETCH(a * rhp + m);
        return pos < 0 ? vec2(c.x, -c.y) : c;
    }
#endif
    const vec2 c0 = ROPE_FETCH((a & ((1u << ROPE_SHIFT) - 1u)) * rhp + m);
    const vec2 c1 = ROPE_FETCH(((1u << ROPE_SHIFT) + (a >> ROPE_SHIFT)) * rhp + m);
    const vec2 cs = vec2(c0.x * c1.x - c0.y * c1.y, c0.x * c1.y + c0.y * c1.x);
    return pos < 0 ? vec2(cs.x, -cs.y) : cs;
}

#ifdef ROPE_FETCH4
// (cos, sin) of pairs m and m + 1 (m even) at pos, from ROPE_FETCH4(index) -> the two entries
// index and index + 1 (index even) in one fetch: half the fetches of two rope_cs calls.
vec4 rope_cs2(int pos, uint m) {
    const uint rhp = (pc.rot_half + 1u) & ~1u;
    const uint a = uint(abs(pos));
    vec4 cs;
    if (ROPE_ONE_LEVEL) {
        cs = ROPE_FETCH4(a * rhp + m);
    } else {
        const vec4 c0 = ROPE_FETCH4((a & ((1u << ROPE_SHIFT) - 1u)) * rhp + m);
        const vec4 c1 = ROPE_FETCH4(((1u << ROPE_SHIFT) + (a >> ROPE_SHIFT)) * rhp + m);
        cs = vec4(c0.x * c1.x - c0.y * c1.y, c0.x * c1.y + c0.y * c1.x,
                  c0.z * c1.z - c0.w * c1.w, c0.z * c1.w + c0.w * c1.z);
    }
    return pos < 0 ? vec4(cs.x, -cs.y, cs.z, -cs.w) : cs;
}
#endif

// Element i of the rotary pair layout: the frequency index m, the partner element and the sign
// of the partner's sine term, so x'[i] = x[i] cos + sign * x[partner] sin. Dims outside
// [ROT_OFF, ROT_OFF + rot_dims) return m = ~0u and pass through.
uint rope_pair(uint i, out uint partner, out float sgn) {
    const uint rh = pc.rot_half;
    if (i < ROT_OFF || i - ROT_OFF >= 2u * rh) { partner = i; sgn = 0.0; return ~0u; }
    const uint k = i - ROT_OFF;
    if ((pc.flags & FLAG_INTERLEAVED) != 0u) {
        partner = ROT_OFF + (k ^ 1u); // pairs (2m, 2m + 1) from ROT_OFF
        sgn = (k & 1u) == 0u ? -1.0 : 1.0;
        return k >> 1;
    }
    if (k < rh) { partner = i + rh; sgn = -1.0; return k; }
    partner = i - rh;
    sgn = 1.0;
    return k - rh;
}
