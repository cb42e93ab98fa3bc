/* libFuzzer target: the attention descriptor's checks, and the CPU reference behind them.
 * The input is a seattn_attention_desc (its bytes as they come) followed by the sizes of the
 * eight tensors (q, k, v, out, lse, the norm weights, the sinks) and the RoPE frequencies (up
 * to 256 doubles, their bytes as they come, zeros after); the descriptor's rope_inv_freq points
 * at them when its bytes' lowest bit is set, else it is NULL (its bytes as a pointer would
 * point anywhere); whatever passes the checks runs on the CPU reference when it is small, so a
 * check that lets an out-of-bounds view through shows up as an AddressSanitizer report. */
#include <seattn/seattn.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_BYTES = 1 << 16, MAX_WORK = 1 << 18 };

static seattn_context *cpu(void) {
    static seattn_context *ctx;
    if (!ctx) {
        seattn_context_options o = {.backend = SEATTN_BACKEND_CPU};
        if (seattn_context_create(&o, &ctx) != SEATTN_SUCCESS) abort();
    }
    return ctx;
}

static seattn_tensor *tensor(seattn_context *ctx, uint16_t bytes) {
    seattn_tensor *t = NULL;
    if (seattn_tensor_create(ctx, (size_t)bytes % MAX_BYTES + 1, &t) != SEATTN_SUCCESS) abort();
    void *fill = calloc(1, seattn_tensor_bytes(t)); /* zeros: valid values of every type */
    seattn_tensor_upload(ctx, t, 0, fill, seattn_tensor_bytes(t));
    free(fill);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    seattn_attention_desc d;
    uint16_t sizes[8] = {0};
    if (size < sizeof d) return 0;
    memcpy(&d, data, sizeof d);
    memcpy(sizes, data + sizeof d, size - sizeof d < sizeof sizes ? size - sizeof d : sizeof sizes);
    static double freq[256];
    memset(freq, 0, sizeof freq);
    const size_t at = sizeof d + sizeof sizes;
    if (size > at) memcpy(freq, data + at, size - at < sizeof freq ? size - at : sizeof freq);
    d.rope_inv_freq = ((uintptr_t)d.rope_inv_freq & 1) ? freq : NULL;
    seattn_context *ctx = cpu();
    seattn_attention_desc r;
    if (seattn_attention_desc_check(ctx, &d, &r) != SEATTN_SUCCESS) return 0;
    /* the reference costs about q_len * kv_len * heads * head_dim */
    const double work = (double)r.q_len * r.kv_len * r.n_heads * r.head_dim;
    if (work > MAX_WORK || (double)r.kv_len * r.head_dim * 2 > MAX_WORK) return 0;
    seattn_tensor *t[8];
    for (int i = 0; i < 8; i++)
        t[i] = tensor(ctx, sizes[i]);
    const seattn_attention_tensors ts = {.q = t[0],
                                         .k = t[1],
                                         .v = t[2],
                                         .out = t[3],
                                         .lse = sizes[4] & 1 ? t[4] : NULL,
                                         .q_norm_weight = sizes[5] & 1 ? t[5] : NULL,
                                         .k_norm_weight = sizes[6] & 1 ? t[6] : NULL,
                                         .sinks = sizes[7] & 1 ? t[7] : NULL};
    seattn_attention_run(ctx, &d, &ts);
    for (int i = 0; i < 8; i++)
        seattn_tensor_destroy(t[i]);
    return 0;
}
