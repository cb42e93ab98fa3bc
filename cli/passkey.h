/* seattn passkey: a tiny RoPE language model (../shared/passkey) run the way an inference
 * engine runs one, with every attention done by seattn and the KV cache on the device. */
#ifndef SEATTN_PASSKEY_H
#define SEATTN_PASSKEY_H

#include <seattn/seattn.h>
#include <stdint.h>

enum {
    PK_D = 64,
    PK_HEADS = 4,
    PK_HD = 16,
    PK_FF = 256,
    PK_VOCAB = 40,
    PK_LAYERS = 3,
    PK_ANSWER = 5
};

typedef struct {
    const float *ln1, *wq, *wk, *wv, *wo, *ln2, *w1, *w2;
} pk_layer;

typedef struct {
    float *data; /* model.f32 */
    const float *emb, *ln_f, *head;
    pk_layer layers[PK_LAYERS];
    double theta;
} pk_model;

/* Loads DIR/model.json and DIR/model.f32; 0, or -1 after printing why to stderr. */
int pk_model_load(const char *dir, pk_model *m);
void pk_model_free(pk_model *m);

/* One model instance on a seattn context: the device KV cache of every layer (keys rotated at
 * their own positions, as engines store them) and host scratch for max_len tokens. */
typedef struct pk_session pk_session;
seattn_status pk_session_create(seattn_context *ctx, const pk_model *m, uint32_t max_len,
                                pk_session **out);
void pk_session_destroy(pk_session *s);

/* Runs tokens[0..n) at positions pos .. pos + n - 1 through the model, attention by seattn with
 * group size g (1: plain RoPE) and window w, appending to the cache (pos must be the number of
 * tokens already in it). Writes the logits of the last token to logits[PK_VOCAB]. */
seattn_status pk_forward(pk_session *s, const uint8_t *tokens, uint32_t n, uint32_t pos, int32_t g,
                         int32_t w, float *logits);

/* Greedy answer to a prompt of n tokens: PK_ANSWER tokens into answer. With `forced`, those
 * tokens are fed instead of the model's own (teacher forcing), and the PK_ANSWER logit rows go
 * to logits (may be NULL). */
seattn_status pk_answer(pk_session *s, const uint8_t *prompt, uint32_t n, int32_t g, int32_t w,
                        const uint8_t *forced, uint8_t *answer, float *logits);

/* Many prompts at once, as a serving engine runs them: n_seqs sequences of up to max_len
 * tokens, every layer's KV cache a pool of pages of `page` tokens in a shuffled order, each
 * forward one seattn_attention_batch() a layer (batched prefill, then batched decode). */
typedef struct pk_batch pk_batch;
seattn_status pk_batch_create(seattn_context *ctx, const pk_model *m, uint32_t n_seqs,
                              uint32_t max_len, uint32_t page, pk_batch **out);
void pk_batch_destroy(pk_batch *b);
/* pk_answer for every sequence: prompt q is prompts[q * stride ..] (n tokens); its greedy
 * answer goes to answers[q * PK_ANSWER], its logit rows to logits[q * PK_ANSWER * PK_VOCAB]
 * (may be NULL). */
seattn_status pk_answer_batch(pk_batch *b, const uint8_t *prompts, size_t stride, uint32_t n,
                              int32_t g, int32_t w, uint8_t *answers, float *logits);

/* Reads DIR/prompts_L.u8: rows of L tokens; returns the row count (0 on error). */
uint32_t pk_prompts_load(const char *dir, uint32_t len, uint8_t **rows);

int cmd_passkey(int argc, char **argv);

#endif
