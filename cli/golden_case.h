/* Golden cases (format of shared/golden/README.md): reading them and running one on a context.
 * Shared by `seattn check` and the tests. */
#ifndef SEATTN_GOLDEN_CASE_H
#define SEATTN_GOLDEN_CASE_H

#include <seattn/seattn.h>
#include <stddef.h>

typedef struct golden_case {
    char name[256];
    seattn_attention_desc desc; /* dense layout, every default resolved by the reader; q_type,
                                 * k_type, v_type (and k_scale, v_scale) as the case stores
                                 * them */
    float *q, *k, *v, *out;     /* the decoded values; out: the expected output */
    unsigned char *raw[3];      /* q, k, v as stored: the raw files (which the reader checked
                                 * decode to q, k, v bit for bit), or the f32 values */
    size_t raw_bytes[3];
    size_t q_n, k_n, v_n, out_n;
    double *inv_freq; /* desc.rope_inv_freq's array, when the case has rope_inv_freq */
    float *sinks;     /* n_heads sinks when the case has them (desc.flags has SEATTN_ATTN_SINKS) */
    float *lse;       /* the expected log-sum-exp [n_heads, q_len] (sink included) when the case
                       * has lse.f32; NULL for cases without one */
} golden_case;

/* Reads the case in dir (the format of shared/golden/README.md and of the model features of
 * shared/golden-models/README.md). Returns 0; -1 with a message in err that says what is
 * malformed or truncated; -2 when the case uses a feature seattn does not have yet (err names
 * it). A key the reader does not know is malformed: refused, never ignored. */
int golden_case_load(const char *dir, golden_case *c, char *err, size_t err_len);

/* Creates a tensor holding the n values x stored as dt (f32, or f16: the values are then
 * rounded to f16, exactly for a case's decoded f16 values). */
seattn_status golden_tensor(seattn_context *ctx, const float *x, size_t n, seattn_dtype dt,
                            seattn_tensor **out);
/* Creates a tensor holding n bytes (a case's raw storage). */
seattn_status golden_bytes_tensor(seattn_context *ctx, const void *bytes, size_t n,
                                  seattn_tensor **out);
void golden_case_free(golden_case *c);

/* Finds every folder holding meta.json under root (root itself included), sorted by path.
 * Returns the count, or -1 when root cannot be read; *dirs is freed with golden_dirs_free. */
int golden_find(const char *root, char ***dirs);
void golden_dirs_free(char **dirs, int n);

/* Runs c on ctx (output poisoned with NaN first, so an unwritten element fails) and sets
 * *max_err to the largest absolute difference from the expected output, and from the expected
 * log-sum-exp where the case has one. */
seattn_status golden_case_run(seattn_context *ctx, const golden_case *c, double *max_err);

#endif
