/* libFuzzer target: a batch's metadata as it comes, on the CPU reference, and
 * seattn_batch_check() on the same. The input is a seattn_batch_desc (its bytes as they come,
 * sizes folded small), then the sequences' words and the block table. Whatever metadata the
 * bytes hold, the CPU reference must stay inside the tensors (AddressSanitizer watches), and a
 * sequence that seattn_batch_check() passes must come out as a number, not NaN. */
#include <seattn/seattn.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { HEADS = 2, KV_HEADS = 1, D = 8, MAX_SEQS = 8, MAX_Q = 64, MAX_KV = 256, MAX_BT = 64 };

static seattn_context *cpu(void) {
    static seattn_context *ctx;
    if (!ctx) {
        seattn_context_options o = {.backend = SEATTN_BACKEND_CPU};
        if (seattn_context_create(&o, &ctx) != SEATTN_SUCCESS) abort();
    }
    return ctx;
}

static seattn_tensor *tensor(seattn_context *ctx, size_t bytes, const void *src) {
    seattn_tensor *t = NULL;
    if (seattn_tensor_create(ctx, bytes, &t) != SEATTN_SUCCESS) abort();
    void *fill = calloc(1, bytes);
    seattn_tensor_upload(ctx, t, 0, src ? src : fill, bytes);
    free(fill);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    seattn_batch_desc b;
    if (size < sizeof b) return 0;
    memcpy(&b, data, sizeof b);
    data += sizeof b, size -= sizeof b;
    /* small enough to run: the bounds folded into range, the metadata left as it came */
    b.n_seqs = b.n_seqs % MAX_SEQS + 1;
    b.q_tokens = b.q_tokens % MAX_Q + 1;
    b.kv_tokens = b.kv_tokens % MAX_KV + 1;
    b.max_q_len = b.max_q_len % b.q_tokens + 1;
    b.max_kv_len = b.max_q_len + b.max_kv_len % MAX_KV;
    b.page_size = b.page_size % 5 == 0 ? 0 : b.page_size % b.kv_tokens + 1;
    b.block_table_len = b.page_size ? b.block_table_len % MAX_BT + 1 : 0;
    b.seqs_offset = b.block_table_offset = 0;
    uint32_t words[5 * MAX_SEQS + MAX_BT] = {0};
    memcpy(words, data, size < sizeof words ? size : sizeof words);
    for (uint32_t i = 0; i < 5 * MAX_SEQS; i++) /* most values small, so some sequences pass */
        if (!(words[i] & 0x80000000u)) words[i] %= 300;
    uint32_t *bt = words + 5 * MAX_SEQS;
    seattn_seq seqs[MAX_SEQS];
    memcpy(seqs, words, sizeof seqs);
    char msg[256];
    const seattn_status ok = seattn_batch_check(&b, seqs, b.page_size ? bt : NULL, msg, sizeof msg);

    seattn_context *ctx = cpu();
    const size_t nq = (size_t)HEADS * b.q_tokens * D, nk = (size_t)KV_HEADS * b.kv_tokens * D;
    float *host = malloc(sizeof(float) * (nq > nk ? nq : nk));
    for (size_t i = 0; i < (nq > nk ? nq : nk); i++)
        host[i] = (float)((i * 7919u) % 17) / 17.0f - 0.5f;
    seattn_tensor *tq = tensor(ctx, nq * 4, host), *tk = tensor(ctx, nk * 4, host),
                  *tv = tensor(ctx, nk * 4, host), *to = tensor(ctx, nq * 4, NULL),
                  *tl = tensor(ctx, (size_t)HEADS * b.q_tokens * 4, NULL),
                  *ts = tensor(ctx, sizeof seqs, seqs), *tb = tensor(ctx, MAX_BT * 4, bt);
    seattn_attention_desc d = {.n_heads = HEADS,
                               .n_kv_heads = KV_HEADS,
                               .head_dim = D,
                               .group_size = 2,
                               .neighbor_window = 4};
    const seattn_attention_tensors t = {.q = tq, .k = tk, .v = tv, .out = to, .lse = tl};
    if (seattn_attention_batch(ctx, &d, &b, &t, ts, b.page_size ? tb : NULL) != SEATTN_SUCCESS)
        abort();                /* the bounds above are all valid */
    if (ok == SEATTN_SUCCESS) { /* every row of a checked batch is a number */
        float *out = malloc(nq * 4);
        seattn_tensor_download(ctx, to, 0, out, nq * 4);
        for (uint32_t s = 0; s < b.n_seqs; s++)
            for (uint32_t h = 0; h < HEADS; h++)
                for (uint32_t r = 0; r < seqs[s].q_len; r++)
                    for (uint32_t i = 0; i < D; i++)
                        if (isnan(out[((size_t)h * b.q_tokens + seqs[s].q_start + r) * D + i]))
                            abort();
        free(out);
    }
    seattn_tensor *all[] = {tq, tk, tv, to, tl, ts, tb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        seattn_tensor_destroy(all[i]);
    free(host);
    return 0;
}
