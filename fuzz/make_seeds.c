/* Writes the seed corpus of fuzz_desc (valid and nearly valid descriptors with tensor sizes)
 * into corpus/desc/. Run from fuzz/ after a change to seattn_attention_desc:
 *   cc -I../include make_seeds.c -o /tmp/make_seeds && /tmp/make_seeds */
#include <seattn/seattn.h>

#include <stdio.h>
#include <string.h>

/* freq: NULL, or the RoPE frequencies fuzz_desc points rope_inv_freq at (it does when the
 * pointer's bytes have their lowest bit set) */
static void seed_freq(const char *name, const seattn_attention_desc *d, const uint16_t sizes[8],
                      const double *freq, size_t n_freq) {
    char path[256];
    snprintf(path, sizeof path, "corpus/desc/%s", name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(d, sizeof *d, 1, f);
    fwrite(sizes, 2, 8, f);
    if (freq) fwrite(freq, sizeof *freq, n_freq, f);
    fclose(f);
}
static void seed(const char *name, const seattn_attention_desc *d, const uint16_t sizes[8]) {
    seed_freq(name, d, sizes, NULL, 0);
}

int main(void) {
    const uint16_t fit[8] = {4096, 4096, 4096, 4096, 65, 129, 129, 9};
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
    const uint16_t small[8] = {10, 10, 10, 10, 1, 1, 1, 1};
    seed("too_small", &d, small);
    seattn_attention_desc m = d; /* a model's RoPE: scaled frequencies, an attention factor */
    m.rope_inv_freq = (const double *)1;
    m.rope_attention_factor = 1.3f;
    const double freq[8] = {1.0, 0.3, 0.1, 0.03, 0.01, 0.001, 1e-4, 1e-5};
    seed_freq("model_rope", &m, fit, freq, 8);
    seattn_attention_desc a = d; /* MLA's shape (a rotated slice, v's own head size), sinks */
    a.rotary_offset = 8;
    a.rotary_dims = 8;
    a.rope_layout = SEATTN_ROPE_INTERLEAVED;
    a.v_head_dim = 12;
    a.flags = SEATTN_ATTN_SINKS;
    a.logit_softcap = 20.0f;
    seed("mla_sinks", &a, fit);
    seattn_attention_desc q = d; /* a quantized KV cache: q8_0 k, fp8 v with its scale */
    q.head_dim = 32;
    q.k_type = SEATTN_DTYPE_Q8_0;
    q.v_type = SEATTN_DTYPE_FP8_E4M3;
    q.v_scale = 0.05f;
    q.q_type = SEATTN_DTYPE_BF16;
    seed("kv_types", &q, fit);
    return 0;
}
