/* The golden-case reader of `seattn check`: malformed and truncated cases are reported, never a
 * crash. */
#define _POSIX_C_SOURCE 200809L
#include "golden_case.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void write_file(const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static const char *meta_ok =
    "{\"n_heads\": 2, \"n_kv_heads\": 1, \"head_dim\": 4, \"q_len\": 3, \"kv_len\": 3,"
    " \"q_pos_start\": 0, \"k_pos_start\": 0, \"group_size_G\": 2, \"neighbor_window_W\": 2,"
    " \"rope_theta\": 10000.0, \"softmax_scale\": 0.5, \"scale_base\": -1}";

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/seattn_case_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    float z[64] = {0};
    write_file("q.f32", z, 2 * 3 * 4 * 4);
    write_file("k.f32", z, 1 * 3 * 4 * 4);
    write_file("v.f32", z, 1 * 3 * 4 * 4);
    write_file("out.f32", z, 2 * 3 * 4 * 4);
}

static void teardown(void) {
    const char *names[] = {"meta.json", "q.f32", "k.f32", "v.f32", "out.f32", "k.bf16", "v.f16"};
    char path[512];
    for (int i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

TestSuite(case_reader, .init = setup, .fini = teardown);

static int load(char *err, size_t n) {
    golden_case c;
    int rc = golden_case_load(dir, &c, err, n);
    if (rc == 0) golden_case_free(&c);
    return rc;
}

Test(case_reader, reads_a_good_case) {
    char err[256] = "";
    write_file("meta.json", meta_ok, strlen(meta_ok));
    cr_assert_eq(load(err, sizeof err), 0, "%s", err);
}

Test(case_reader, truncated_array_is_reported) {
    char err[256] = "";
    write_file("meta.json", meta_ok, strlen(meta_ok));
    float z[4] = {0};
    write_file("k.f32", z, sizeof z);
    cr_assert_eq(load(err, sizeof err), -1);
    cr_assert(strstr(err, "k.f32") && strstr(err, "truncated"), "%s", err);
}

Test(case_reader, malformed_json_is_reported) {
    char err[256] = "";
    write_file("meta.json", "{\"n_heads\": 2,", 14);
    cr_assert_eq(load(err, sizeof err), -1);
    cr_assert(strstr(err, "meta.json"), "%s", err);
}

Test(case_reader, missing_and_wrong_fields_are_reported) {
    char err[256] = "";
    const char *m = "{\"n_heads\": 2}";
    write_file("meta.json", m, strlen(m));
    cr_assert_eq(load(err, sizeof err), -1);
    cr_assert(strstr(err, "n_kv_heads"), "%s", err);
    const char *neg = "{\"n_heads\": -2, \"n_kv_heads\": 1}";
    write_file("meta.json", neg, strlen(neg));
    cr_assert_eq(load(err, sizeof err), -1);
    cr_assert(strstr(err, "n_heads"), "%s", err);
    const char *str = "{\"n_heads\": \"two\"}";
    write_file("meta.json", str, strlen(str));
    cr_assert_eq(load(err, sizeof err), -1);
}

/* meta_ok with one more key (its text without the closing brace, then extra). */
static int load_with(const char *extra, char *err, size_t n) {
    char m[1024];
    snprintf(m, sizeof m, "%.*s, %s}", (int)strlen(meta_ok) - 1, meta_ok, extra);
    write_file("meta.json", m, strlen(m));
    return load(err, n);
}

/* A key the reader does not know is refused, not ignored; a feature seattn does not have yet
 * is refused as such (-2), naming it; the model features it has are read. */
Test(case_reader, unknown_keys_and_features) {
    char err[256] = "";
    cr_assert_eq(load_with("\"rope_freq_factor\": 2", err, sizeof err), -1);
    cr_assert(strstr(err, "unknown key") && strstr(err, "rope_freq_factor"), "%s", err);
    cr_assert_eq(load_with("\"sinks\": [0.5]", err, sizeof err), -1); /* n_heads is 2 */
    cr_assert(strstr(err, "sinks"), "%s", err);
    cr_assert_eq(load_with("\"k_dtype\": \"q5_1\"", err, sizeof err), -2);
    cr_assert(strstr(err, "q5_1"), "%s", err);
    cr_assert_eq(load_with("\"k_scale\": \"half\"", err, sizeof err), -1);
    cr_assert(strstr(err, "k_scale"), "%s", err);
    /* a storage type's raw file: missing, of the wrong size, or not decoding to the .f32 values
     * bit for bit, is malformed */
    cr_assert_eq(load_with("\"k_dtype\": \"bf16\"", err, sizeof err), -1);
    cr_assert(strstr(err, "k.bf16"), "%s", err);
    const uint16_t kb[12] = {0, 0, 0x3f80};
    write_file("k.bf16", kb, 10);
    cr_assert_eq(load_with("\"k_dtype\": \"bf16\"", err, sizeof err), -1);
    cr_assert(strstr(err, "k.bf16") && strstr(err, "need 24"), "%s", err);
    write_file("k.bf16", kb, sizeof kb);
    cr_assert_eq(load_with("\"k_dtype\": \"bf16\"", err, sizeof err), -1);
    cr_assert(strstr(err, "does not decode") && strstr(err, "element 2"), "%s", err);
    const uint16_t zero[12] = {0};
    write_file("k.bf16", zero, sizeof zero);
    cr_assert_eq(load_with("\"k_dtype\": \"bf16\", \"k_scale\": 0.5", err, sizeof err), 0, "%s",
                 err); /* the library refuses the scale of a bf16 k, not the reader */
    cr_assert_eq(load_with("\"rotary_offset\": 5", err, sizeof err), -1); /* past head_dim 4 */
    cr_assert(strstr(err, "rotary_offset"), "%s", err);
    cr_assert_eq(load_with("\"rotary_offset\": 0", err, sizeof err), 0, "%s", err);
    cr_assert_eq(load_with("\"v_head_dim\": 2.5", err, sizeof err), -1);
    cr_assert(strstr(err, "v_head_dim"), "%s", err);
    cr_assert_eq(load_with("\"rope_inv_freq\": [1, 0.5, 0.25]", err, sizeof err), -1);
    cr_assert(strstr(err, "rope_inv_freq"), "%s", err);
    golden_case c;
    write_file("meta.json", "{}", 2);
    char m[1024];
    snprintf(m, sizeof m,
             "%.*s, \"rope_inv_freq\": [1, 0.125], \"rope_attention_factor\": 1.5, "
             "\"rope_layout\": \"interleaved\", \"v_dtype\": \"f16\", \"sinks\": [0.5, -1.5]}",
             (int)strlen(meta_ok) - 1, meta_ok);
    write_file("meta.json", m, strlen(m));
    write_file("v.f16", zero, sizeof zero); /* v's raw f16 values: the zeros of v.f32 */
    cr_assert_eq(golden_case_load(dir, &c, err, sizeof err), 0, "%s", err);
    cr_expect(c.desc.rope_inv_freq && c.desc.rope_inv_freq[1] == 0.125);
    cr_expect_eq(c.desc.rope_attention_factor, 1.5f);
    cr_expect_eq(c.desc.rope_layout, SEATTN_ROPE_INTERLEAVED);
    cr_expect_eq(c.desc.v_type, SEATTN_DTYPE_F16);
    cr_expect(c.sinks && c.sinks[1] == -1.5f && (c.desc.flags & SEATTN_ATTN_SINKS));
    golden_case_free(&c);
    snprintf(m, sizeof m, "%.*s, \"rotary_offset\": 2, \"rotary_dims\": 2}",
             (int)strlen(meta_ok) - 1, meta_ok);
    write_file("meta.json", m, strlen(m));
    cr_assert_eq(golden_case_load(dir, &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.desc.rotary_offset, 2);
    cr_expect_eq(c.desc.rotary_dims, 2);
    golden_case_free(&c);
    /* v_head_dim sizes v and out: the reader wants their files of that size */
    snprintf(m, sizeof m, "%.*s, \"v_head_dim\": 2}", (int)strlen(meta_ok) - 1, meta_ok);
    write_file("meta.json", m, strlen(m));
    cr_assert_eq(golden_case_load(dir, &c, err, sizeof err), -1);
    cr_assert(strstr(err, "v.f32"), "%s", err);
    float z[64] = {0};
    write_file("v.f32", z, 1 * 3 * 2 * 4);
    write_file("out.f32", z, 2 * 3 * 2 * 4);
    cr_assert_eq(golden_case_load(dir, &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.desc.v_head_dim, 2);
    cr_expect_eq(c.out_n, 2 * 3 * 2);
    golden_case_free(&c);
}

Test(case_reader, find_lists_case_folders) {
    write_file("meta.json", meta_ok, strlen(meta_ok));
    char **dirs = NULL;
    int n = golden_find(dir, &dirs);
    cr_assert_eq(n, 1);
    golden_dirs_free(dirs, n);
    cr_assert_eq(golden_find("/nonexistent/seattn", &dirs), -1);
}
