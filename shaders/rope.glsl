// RoPE angles from the host's double-precision tables: pos = a + 256 b + 65536 c, so
// e^(i pos f) = e^(i a f) e^(i 256 b f) e^(i 65536 c f); exact to a few f32 ulps for |pos| < 2^24,
// where pos * f computed in f32 would already be off by radians.
vec2 rope_cs(int pos, uint m) {
    uint a = uint(abs(pos));
    uint rh = pc.rot_half;
    vec2 c0 = rope_tab[(a & 255u) * rh + m];
    vec2 c1 = rope_tab[(256u + ((a >> 8) & 255u)) * rh + m];
    vec2 c2 = rope_tab[(512u + ((a >> 16) & 255u)) * rh + m];
    vec2 c01 = vec2(c0.x * c1.x - c0.y * c1.y, c0.x * c1.y + c0.y * c1.x);
    vec2 cs = vec2(c01.x * c2.x - c01.y * c2.y, c01.x * c2.y + c01.y * c2.x);
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
