// K and V in chunks read by buffer device address (the SEATTN_BDA builds of flash.comp and
// texel.comp; KV_CHUNKS, common.glsl): the kernel puts the addresses of the chunk of the key at
// hand in k_at and v_at (batch.glsl's kv_chunk finds it), and element indices count from the
// chunk's start (the host checked that every view fits its chunk, below 4 GiB). Every type is
// read as 32-bit words, so no 16-bit storage is needed on this path.
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer KvWord { uint w; };
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer KvWord2 { uvec2 w; };
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer KvWord4 { uvec4 w; };
uvec2 k_at, v_at;
// The address of word w of the chunk at a.
uvec2 word_addr(uvec2 a, uint w) {
    uint carry;
    const uint lo = uaddCarry(a.x, w << 2u, carry);
    return uvec2(lo, a.y + carry);
}
uint word_at(uvec2 a, uint w) { return KvWord(word_addr(a, w)).w; }
// Chunk c's addresses into k_at and v_at (its words 0-3 of the chunk table in meta).
void chunk_select(uint c) {
    k_at = uvec2(meta[8u * c], meta[8u * c + 1u]);
    v_at = uvec2(meta[8u * c + 2u], meta[8u * c + 3u]);
}
uvec2 word2_at(uvec2 a, uint w) { return KvWord2(word_addr(a, w)).w; }
uvec4 word4_at(uvec2 a, uint w) { return KvWord4(word_addr(a, w)).w; }
// An f32 or f16 element i of the chunk at `at` (half_of: kv_types.glsl).
#define CHUNK_F(at, f16, i) ((f16) ? half_of(word_at(at, (i) >> 1u), 2u * (i)) : uintBitsToFloat(word_at(at, i)))
#define K_CHUNK(i) CHUNK_F(k_at, (DT & 2u) != 0u, i)
#define V_CHUNK(i) CHUNK_F(v_at, (DT & 4u) != 0u, i)
