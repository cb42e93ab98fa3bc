/* Helpers shared by the tests: contexts, random data, running a descriptor on host arrays. */
#ifndef SEATTN_TESTUTIL_H
#define SEATTN_TESTUTIL_H

#include <seattn/seattn.h>
#include <stddef.h>
#include <stdint.h>

/* A CPU-reference context (never NULL; the test fails otherwise). */
seattn_context *tu_cpu(void);
/* A Vulkan context on the default device, with validation when SEATTN_TEST_VALIDATION=1.
 * With no device it skips the test, unless SEATTN_TEST_REQUIRE_DEVICE=1 makes that a failure. */
seattn_context *tu_vulkan(void);
/* No Vulkan device for a test (why: the reason): skips it, or fails it where
 * SEATTN_TEST_REQUIRE_DEVICE=1 says a device must be there. Does not return. */
void tu_no_device(const char *why);
/* Where SEATTN_KERNEL forces a kernel, expects that ctx's last Vulkan call ran it (its name
 * starts with the forced name), so a test run for a kernel cannot pass on another one. */
void tu_expect_forced_kernel(const seattn_context *ctx);
/* Fails the test if ctx saw any validation message, then destroys it. In a suite's .fini it
 * fails nothing (Criterion ignores assertions there): check the count in the test too. */
void tu_finish(seattn_context *ctx);

/* A descriptor of nh query heads over nkv KV heads, head_dim d, q_len ql, kv_len kl, G g,
 * W w; every other field its default. */
seattn_attention_desc tu_desc(uint32_t nh, uint32_t nkv, uint32_t d, uint32_t ql, uint32_t kl,
                              int g, int w);
/* Deterministic uniform values in [-1, 1). */
void tu_fill(float *x, size_t n, uint32_t seed);

/* Element counts the views of a resolved descriptor need. */
size_t tu_q_elems(const seattn_attention_desc *r);
size_t tu_kv_elems(const seattn_attention_desc *r, int v);
size_t tu_out_elems(const seattn_attention_desc *r);
size_t tu_lse_elems(const seattn_attention_desc *r);

/* Runs desc on ctx with host arrays sized by tu_*_elems (lse may be NULL); out and lse are
 * poisoned with NaN on the device first. Returns the status. */
seattn_status tu_run(seattn_context *ctx, const seattn_attention_desc *desc, const float *q,
                     const float *k, const float *v, float *out, float *lse);

/* tu_run with QK-norm weights (host arrays of q_norm_offset / k_norm_offset + head_dim floats,
 * NULL: none). Tensors whose desc type is f16 get the host floats rounded to f16, and an f16
 * out is widened back. */
seattn_status tu_run_norm(seattn_context *ctx, const seattn_attention_desc *desc, const float *q,
                          const float *k, const float *v, float *out, float *lse,
                          const float *q_weight, const float *k_weight);
/* tu_run_norm with sinks too (a host array of sinks_offset + n_heads floats, NULL: none; the
 * desc's SEATTN_ATTN_SINKS says whether they are read). */
seattn_status tu_run_full(seattn_context *ctx, const seattn_attention_desc *desc, const float *q,
                          const float *k, const float *v, float *out, float *lse,
                          const float *q_weight, const float *k_weight, const float *sinks);
/* seattn_attention_merge on host arrays laid out as desc's out and lse views (lse may be NULL:
 * no merged lse). in_place: the merge writes into out_a's and lse_a's tensors. */
seattn_status tu_merge(seattn_context *ctx, const seattn_attention_desc *desc, const float *out_a,
                       const float *lse_a, const float *out_b, const float *lse_b, float *out,
                       float *lse, int in_place);
/* x rounded to f16 (nearest even) and back, by the compiler's _Float16. */
float tu_round_half(float x);

/* Largest |a - b| over the (head, token) vectors of an output view (NaN if any is NaN). */
double tu_max_err(const seattn_attention_desc *r, const float *a, const float *b);

#endif
