// RoPE angles from the host's double-precision table (src/vk_rope.c), read through
// ROPE_FETCH(index) -> vec2(cos, sin). With RHP = rot_half rounded up to even and
// L = 1 << pc.rope_shift, entry a * RHP + m holds the angle a * f_m for a < L, and entry
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
    const vec2 c0 = ROPE_FETCH((a & ((1u << pc.rope_shift) - 1u)) * rhp + m);
    const vec2 c1 = ROPE_FETCH(((1u << pc.rope_shift) + (a >> pc.rope_shift)) * rhp + m);
    const vec2 cs = vec2(c0.x * c1.x - c0.y * c1.y, c0.x * c1.y + c0.y * c1.x);
    return pos < 0 ? vec2(cs.x, -cs.y) : cs;
}

// Element i of the rotary pair layout: the frequency index m, the partner element and the sign
// of the partner's sine term, so x'[i] = x[i] cos + sign * x[partner] sin. Dims past rot_dims
// return m = ~0u and pass through.
uint rope_pair(uint i, out uint partner, out float sgn) {
    uint rh = pc.rot_half;
    if ((pc.flags & FLAG_INTERLEAVED) != 0u) {
        if (i >= 2u * rh) { partner = i; sgn = 0.0; return ~0u; }
        partner = i ^ 1u;
        sgn = (i & 1u) == 0u ? -1.0 : 1.0;
        return i >> 1;
    }
    if (i >= 2u * rh) { partner = i; sgn = 0.0; return ~0u; }
    if (i < rh) { partner = i + rh; sgn = -1.0; return i; }
    partner = i - rh;
    sgn = 1.0;
    return i - rh;
}
