/* A model's attention from its Hugging Face config.json: the layer types it has (full
 * attention, sliding windows), each as the seattn_attention_desc that computes it, and the
 * Self-Extend G and W for a target context. Used by `seattn model` and its tests. */
#ifndef SEATTN_MODEL_CONFIG_H
#define SEATTN_MODEL_CONFIG_H

#include <seattn/seattn.h>
#include <stdbool.h>
#include <stddef.h>

enum { MODEL_MAX_TYPES = 2, MODEL_MAX_HALF = 256 };

/* One kind of attention layer of a model. */
typedef struct model_layer_type {
    char name[64];      /* "full attention", "sliding attention" */
    uint32_t count;     /* layers of this type */
    uint32_t first;     /* the first of them */
    bool sliding;       /* a sliding-window layer: G = 1, neighbor pairs only, W = window */
    uint32_t window;    /* its window, in tokens (sliding layers) */
    bool sinks;         /* the model has learned sinks (gpt-oss): one logit a query head */
    bool qk_norm;       /* the model RMS-normalises q and k per head before RoPE */
    char rope_type[16]; /* rope_scaling's type, or "default" */
    double rope_theta;
    /* the call: heads, head sizes, rotated slice and layout, frequencies and attention
     * factor, scale, softcap, flags (QK-norm, sinks; SEATTN_ATTN_NEIGHBOR_ONLY for sliding
     * layers); lengths, G and W left 0 */
    seattn_attention_desc desc;
    double inv_freq[MODEL_MAX_HALF]; /* desc.rope_inv_freq points here */
} model_layer_type;

typedef struct model_info {
    char name[160]; /* "model" or "_name_or_path", else the file's name */
    char model_type[64];
    uint32_t n_layers;
    uint32_t trained; /* max_position_embeddings: the context the model was trained for */
    int n_types;
    model_layer_type types[MODEL_MAX_TYPES];
} model_info;

/* Reads the config at path for sequences of seq_len tokens (longrope and dynamic frequencies
 * depend on it). Returns 0, or -1 with what is missing or malformed in err; -2 when the model
 * needs an attention feature seattn does not have (err names it): a key it does not know is
 * not silently skipped when it changes attention. */
int model_config_load(const char *path, uint32_t seq_len, model_info *m, char *err, size_t n);

/* The Self-Extend G and W for a target context n of a model trained on l tokens: n <= l (or
 * l < 4, too short to keep a window): G 1, W 0 (no extension); else W = l / 4 rounded down to a
 * multiple of 256, at most 4096 (for l below 1024: l / 4), and G the smallest with (l - W) G + W >=
 * n. */
void model_recommend(uint32_t l, uint32_t n, int32_t *g, int32_t *w);

#endif
