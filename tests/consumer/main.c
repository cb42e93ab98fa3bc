/* Built against an installed seattn (CMake package or pkg-config): one small attention on the
 * CPU reference backend, checked against a hand-computed answer. */
#include <seattn/seattn.h>

#include <math.h>
#include <stdio.h>

int main(void) {
    seattn_context_options o = {0};
    o.backend = SEATTN_BACKEND_CPU;
    seattn_context *ctx;
    if (seattn_context_create(&o, &ctx) != SEATTN_SUCCESS) return 1;
    /* one head, head_dim 2, two tokens; the second query sees both keys */
    const float q[4] = {0, 0, 0, 0}, k[4] = {1, 0, 0, 1}, v[4] = {1, 2, 3, 4};
    float out[4];
    seattn_tensor *tq, *tk, *tv, *to;
    seattn_tensor_create(ctx, sizeof q, &tq);
    seattn_tensor_create(ctx, sizeof k, &tk);
    seattn_tensor_create(ctx, sizeof v, &tv);
    seattn_tensor_create(ctx, sizeof out, &to);
    seattn_tensor_upload(ctx, tq, 0, q, sizeof q);
    seattn_tensor_upload(ctx, tk, 0, k, sizeof k);
    seattn_tensor_upload(ctx, tv, 0, v, sizeof v);
    seattn_attention_desc d = {.n_heads = 1, .head_dim = 2, .q_len = 2, .kv_len = 2};
    seattn_status s = seattn_attention(ctx, &d, tq, tk, tv, to, NULL);
    seattn_tensor_download(ctx, to, 0, out, sizeof out);
    /* zero queries: equal weights, so row 0 is v0 and row 1 the mean of v0 and v1 */
    const int ok = s == SEATTN_SUCCESS && out[0] == 1 && out[1] == 2 && fabsf(out[2] - 2) < 1e-6f &&
                   fabsf(out[3] - 3) < 1e-6f;
    printf("seattn %s consumer: %s\n", seattn_version_string(), ok ? "ok" : "WRONG");
    seattn_tensor_destroy(tq);
    seattn_tensor_destroy(tk);
    seattn_tensor_destroy(tv);
    seattn_tensor_destroy(to);
    seattn_context_destroy(ctx);
    return ok ? 0 : 1;
}
