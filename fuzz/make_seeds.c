/* Writes the seed corpus of fuzz_desc (valid and nearly valid descriptors with tensor sizes)
 * into corpus/desc/. Run from fuzz/ after a change to seattn_attention_desc:
 *   cc -I../include make_seeds.c -o /tmp/make_seeds && /tmp/make_seeds */
#include <seattn/seattn.h>

#include <stdio.h>
#include <string.h>

static void seed(const char *name, const seattn_attention_desc *d, const uint16_t sizes[7]) {
    char path[256];
    snprintf(path, sizeof path, "corpus/desc/%s", name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(d, sizeof *d, 1, f);
    fwrite(sizes, 2, 7, f);
    fclose(f);
}

int main(void) {
    const uint16_t fit[7] = {4096, 4096, 4096, 4096, 65, 129, 129};
    seattn_attention_desc d = {.n_heads = 2,
                               .n_kv_heads = 1,
                               .head_dim = 16,
                               .q_len = 8,
                               .kv_len = 8,
                               .group_size = 2,
                               .neighbor_window = 3};
    seed("plain_se", &d, fit);
    seattn_attention_desc g = d;
    g.flags = SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM;
    g.q_type = g.k_type = g.v_type = g.out_type = SEATTN_DTYPE_F16;
    seed("f16_norm", &g, fit);
    seattn_attention_desc s = d;
    s.q_strides = (seattn_strides){16, 32};
    s.k_strides = s.v_strides = (seattn_strides){16, 16};
    s.out_offset = 5;
    s.lse_strides = (seattn_strides){1, 2};
    s.flags = SEATTN_ATTN_Q_POS | SEATTN_ATTN_GROUPED_ONLY;
    s.q_pos = 0;
    s.rope_layout = SEATTN_ROPE_INTERLEAVED;
    s.key_mode = SEATTN_KEYS_ROTATED;
    s.rotary_dims = 8;
    s.scale_base = 16.0f;
    seed("strided", &s, fit);
    const uint16_t small[7] = {10, 10, 10, 10, 1, 1, 1};
    seed("too_small", &d, small);
    return 0;
}
