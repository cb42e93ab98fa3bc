/* Golden cases (format of shared/golden/README.md): reading them and running one on a context.
 * Shared by `seattn check` and the tests. */
#ifndef SEATTN_GOLDEN_CASE_H
#define SEATTN_GOLDEN_CASE_H

#include <seattn/seattn.h>
#include <stddef.h>

typedef struct golden_case {
    char name[256];
    seattn_attention_desc desc; /* dense f32 layout, every default resolved by the reader */
    float *q, *k, *v, *out;     /* out: the expected output */
    size_t q_n, k_n, v_n, out_n;
} golden_case;

/* Reads the case in dir. Returns 0, or -1 with a message in err that says what is malformed or
 * truncated. */
int golden_case_load(const char *dir, golden_case *c, char *err, size_t err_len);
void golden_case_free(golden_case *c);

/* Finds every folder holding meta.json under root (root itself included), sorted by path.
 * Returns the count, or -1 when root cannot be read; *dirs is freed with golden_dirs_free. */
int golden_find(const char *root, char ***dirs);
void golden_dirs_free(char **dirs, int n);

/* Runs c on ctx (output poisoned with NaN first, so an unwritten element fails) and sets
 * *max_err to the largest absolute difference from the expected output. */
seattn_status golden_case_run(seattn_context *ctx, const golden_case *c, double *max_err);

#endif
