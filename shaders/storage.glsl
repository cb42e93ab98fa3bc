// The bindings of attention.comp and merge.comp: every tensor as a storage buffer.

layout(std430, set = 0, binding = 0) readonly buffer BufQ { float q_buf[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufK { float k_buf[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufV { float v_buf[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BufO { float o_buf[]; };
layout(std430, set = 0, binding = 4) writeonly buffer BufL { float lse_buf[]; };
layout(std430, set = 0, binding = 5) readonly buffer BufRope { vec2 rope_tab[]; }; // rope.glsl
// Split partials: per (head, row, split) D + 4 floats: m, l, 2 unused, acc[D].
layout(std430, set = 0, binding = 6) buffer BufPart { float part_buf[]; };

#define ROPE_FETCH(i) rope_tab[i]
