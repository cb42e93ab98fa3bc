/* A model's attention from its Hugging Face config.json (model_config.h). What each model
 * family does, from the transformers code shared/golden-models/README.md cites:
 *  - head_dim: config's, else hidden_size / num_attention_heads; DeepSeek's MLA (expanded to
 *    a key a head): q and k qk_nope_head_dim + qk_rope_head_dim, the last qk_rope_head_dim
 *    rotated in interleaved pairs, v v_head_dim, softmax scale head_dim^-0.5 g(s, u)^2 with
 *    u = mscale_all_dim (yarn_apply_mscale);
 *  - partial_rotary_factor rotates the first head_dim * factor dims; rope_interleaved: pairs
 *    (2m, 2m + 1);
 *  - query_pre_attn_scalar (Gemma): scale its ^-0.5; attn_logit_softcapping (Gemma 2);
 *  - sinks: gpt-oss (model_type gpt_oss); QK-norm: Qwen3, Gemma 3, OLMo 2;
 *  - layer types: layer_types when given; else Gemma 2 every even layer sliding, Gemma 3
 *    every layer but each sliding_window_pattern-th sliding (with rope_local_base_freq and no
 *    rope_scaling), any other model with a sliding_window below max_position_embeddings (and
 *    use_sliding_window not false) all layers sliding. */
#include "model_config.h"
#include "file_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *get(const cJSON *o, const char *key) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return it && !cJSON_IsNull(it) ? it : NULL;
}

/* A number field: 0 and *ok untouched when absent; -1 with a message when not a number. */
static int num(const cJSON *o, const char *key, double *out, char *err, size_t n) {
    const cJSON *it = get(o, key);
    if (!it) return 0;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) {
        snprintf(err, n, "\"%s\" is not a number", key);
        return -1;
    }
    *out = it->valuedouble;
    return 1;
}

static double yarn_g(double s, double u) {
    return s <= 1.0 ? 1.0 : 0.1 * u * log(s) + 1.0;
}

static const struct {
    const char *name;
    seattn_rope_type type;
} rope_types[] = {{"default", SEATTN_ROPE_TYPE_DEFAULT},   {"linear", SEATTN_ROPE_TYPE_LINEAR},
                  {"dynamic", SEATTN_ROPE_TYPE_DYNAMIC},   {"yarn", SEATTN_ROPE_TYPE_YARN},
                  {"longrope", SEATTN_ROPE_TYPE_LONGROPE}, {"llama3", SEATTN_ROPE_TYPE_LLAMA3}};

/* Keys that change attention in ways seattn does not compute: refused by name. */
static const char *const unsupported[] = {
    "attention_chunk_size", /* Llama 4: attention in chunks */
    "no_rope_layers",       /* Llama 4: layers without RoPE */
    "alibi",                /* ALiBi biases instead of RoPE */
    "rope_scaling_list",    /* per-layer scaling lists */
};

/* The layer type's RoPE: theta and rope_scaling (NULL: none) for rotary_dims d at seq_len. */
static int layer_rope(model_layer_type *t, const cJSON *cfg, double theta, const cJSON *rs,
                      uint32_t d, uint32_t seq_len, double m_pos, char *err, size_t n) {
    seattn_rope_config rc = {.theta = theta,
                             .rotary_dims = d,
                             .max_position_embeddings = (uint32_t)m_pos,
                             .seq_len = seq_len};
    const char *type = "default";
    double short_f[MODEL_MAX_HALF], long_f[MODEL_MAX_HALF];
    if (rs) {
        const cJSON *ty = get(rs, "rope_type");
        if (!ty) ty = get(rs, "type");
        if (ty && !cJSON_IsString(ty)) {
            snprintf(err, n, "rope_scaling's type is not a string");
            return -1;
        }
        if (ty) type = ty->valuestring;
        bool known = false;
        for (size_t i = 0; i < sizeof rope_types / sizeof rope_types[0]; i++)
            if (strcmp(type, rope_types[i].name) == 0) rc.type = rope_types[i].type, known = true;
        if (!known) {
            snprintf(err, n, "rope_scaling type \"%s\", which seattn does not compute", type);
            return -2;
        }
        double orig = 0, v;
        if (num(rs, "original_max_position_embeddings", &orig, err, n) < 0) return -1;
        if (orig == 0 && num(cfg, "original_max_position_embeddings", &orig, err, n) < 0)
            return -1; /* Phi-3 keeps it at the top level */
        rc.original_max_position_embeddings = (uint32_t)orig;
        const struct {
            const char *key;
            double *field;
        } f[] = {{"factor", &rc.factor},
                 {"low_freq_factor", &rc.low_freq_factor},
                 {"high_freq_factor", &rc.high_freq_factor},
                 {"beta_fast", &rc.beta_fast},
                 {"beta_slow", &rc.beta_slow},
                 {"mscale", &rc.mscale},
                 {"mscale_all_dim", &rc.mscale_all_dim},
                 {"attention_factor", &rc.attention_factor}};
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            if (num(rs, f[i].key, &v, err, n) < 0)
                return -1;
            else if (get(rs, f[i].key))
                *f[i].field = v;
        const cJSON *tr = get(rs, "truncate");
        rc.yarn_no_truncate = tr && cJSON_IsFalse(tr);
        const char *lists[2] = {"short_factor", "long_factor"};
        double *dst[2] = {short_f, long_f};
        for (int l = 0; l < 2; l++) {
            const cJSON *a = get(rs, lists[l]);
            if (!a) continue;
            if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != (int)(d / 2)) {
                snprintf(err, n, "rope_scaling's %s is not %u numbers (rotary_dims / 2)", lists[l],
                         d / 2);
                return -1;
            }
            int i = 0;
            for (const cJSON *x = a->child; x; x = x->next, i++) {
                if (!cJSON_IsNumber(x)) {
                    snprintf(err, n, "rope_scaling's %s[%d] is not a number", lists[l], i);
                    return -1;
                }
                dst[l][i] = x->valuedouble;
            }
            if (l == 0)
                rc.short_factor = short_f;
            else
                rc.long_factor = long_f;
        }
    }
    snprintf(t->rope_type, sizeof t->rope_type, "%s", type);
    t->rope_theta = theta;
    float af = 1.0f;
    if (seattn_rope_frequencies(&rc, t->inv_freq, &af) != SEATTN_SUCCESS) {
        snprintf(err, n, "RoPE: %s", seattn_last_create_error());
        return -1;
    }
    t->desc.rope_inv_freq = t->inv_freq;
    t->desc.rope_attention_factor = af;
    t->desc.rope_theta = (float)theta;
    return 0;
}

/* Which layers slide: 1 sliding, 0 full, -1 with a message in err. */
static int layer_slides(const cJSON *cfg, const char *mt, uint32_t i, double window, double m_pos,
                        char *err, size_t n) {
    const cJSON *lt = get(cfg, "layer_types");
    if (lt) {
        const cJSON *x = cJSON_IsArray(lt) ? cJSON_GetArrayItem(lt, (int)i) : NULL;
        if (!x || !cJSON_IsString(x)) {
            snprintf(err, n, "layer_types[%u] is missing or not a string", i);
            return -1;
        }
        if (strcmp(x->valuestring, "sliding_attention") == 0) return 1;
        if (strcmp(x->valuestring, "full_attention") == 0) return 0;
        snprintf(err, n, "layer_types[%u] is \"%s\", which seattn does not know", i,
                 x->valuestring);
        return -2;
    }
    if (window <= 0) return 0;
    if (strcmp(mt, "gemma2") == 0) return i % 2 == 0;
    if (strncmp(mt, "gemma3", 6) == 0) {
        double pattern = 6;
        if (num(cfg, "sliding_window_pattern", &pattern, err, n) < 0) return -1;
        return pattern >= 1 && (i + 1) % (uint32_t)pattern != 0;
    }
    const cJSON *use = get(cfg, "use_sliding_window");
    if (use && cJSON_IsFalse(use)) return 0;
    return window < m_pos; /* a window past the trained context is full attention */
}

static int load(const cJSON *cfg, uint32_t seq_len, model_info *m, char *err, size_t n) {
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (get(cfg, unsupported[i]) && !cJSON_IsFalse(get(cfg, unsupported[i]))) {
            snprintf(err, n, "the config has \"%s\", an attention feature seattn does not have",
                     unsupported[i]);
            return -2;
        }
    const cJSON *pe = get(cfg, "position_embedding_type");
    if (pe && !(cJSON_IsString(pe) && strcmp(pe->valuestring, "rope") == 0)) {
        snprintf(err, n, "position_embedding_type is not rope");
        return -2;
    }
    const cJSON *mt_j = get(cfg, "model_type");
    const char *mt = mt_j && cJSON_IsString(mt_j) ? mt_j->valuestring : "";
    snprintf(m->model_type, sizeof m->model_type, "%s", mt);
    const cJSON *nm = get(cfg, "model");
    if (!nm) nm = get(cfg, "_name_or_path");
    if (nm && cJSON_IsString(nm)) snprintf(m->name, sizeof m->name, "%s", nm->valuestring);
    double heads = 0, kv = 0, hidden = 0, hd = 0, layers = 0, m_pos = 0, theta = 10000;
    double nope = 0, rope_d = 0, vd = 0, prf = 1, qpas = 0, cap = 0, window = 0, local = 0;
    double eps = 0;
    const struct {
        const char *key;
        double *v;
    } nums[] = {{"num_attention_heads", &heads},  {"num_key_value_heads", &kv},
                {"hidden_size", &hidden},         {"head_dim", &hd},
                {"num_hidden_layers", &layers},   {"max_position_embeddings", &m_pos},
                {"rope_theta", &theta},           {"qk_nope_head_dim", &nope},
                {"qk_rope_head_dim", &rope_d},    {"v_head_dim", &vd},
                {"partial_rotary_factor", &prf},  {"query_pre_attn_scalar", &qpas},
                {"attn_logit_softcapping", &cap}, {"sliding_window", &window},
                {"rope_local_base_freq", &local}, {"rms_norm_eps", &eps}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (num(cfg, nums[i].key, nums[i].v, err, n) < 0) return -1;
    if (heads < 1 || layers < 1 || m_pos < 1) {
        snprintf(err, n,
                 "num_attention_heads, num_hidden_layers and max_position_embeddings "
                 "must be given and >= 1");
        return -1;
    }
    if (kv == 0) kv = heads;
    const bool mla = rope_d > 0;
    if (mla) hd = nope + rope_d;
    if (hd == 0 && hidden > 0) hd = floor(hidden / heads);
    if (hd < 2 || hd > 512 || heads > 65536 || kv > heads || layers > 100000) {
        snprintf(err, n, "head_dim %g, %g heads over %g KV heads, %g layers: out of range", hd,
                 heads, kv, layers);
        return -1;
    }
    if (vd == 0) vd = hd;
    m->n_layers = (uint32_t)layers;
    m->trained = (uint32_t)m_pos;
    const cJSON *rs = get(cfg, "rope_scaling");
    if (rs && !cJSON_IsObject(rs)) {
        snprintf(err, n, "rope_scaling is not an object");
        return -1;
    }
    const cJSON *inter = get(cfg, "rope_interleaved");
    const bool gemma3 = strncmp(mt, "gemma3", 6) == 0;
    const bool qk_norm = strcmp(mt, "qwen3") == 0 || strcmp(mt, "qwen3_moe") == 0 || gemma3 ||
                         strcmp(mt, "olmo2") == 0;
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const int s = layer_slides(cfg, mt, i, window, m_pos, err, n);
        if (s < 0) return s;
        int ti = 0;
        while (ti < m->n_types && m->types[ti].sliding != (s == 1))
            ti++;
        model_layer_type *t = &m->types[ti];
        if (ti < m->n_types) {
            t->count++;
            continue;
        }
        m->n_types++;
        memset(t, 0, sizeof *t);
        t->sliding = s == 1;
        t->count = 1;
        t->first = i;
        t->window = t->sliding ? (uint32_t)window : 0;
        snprintf(t->name, sizeof t->name, "%s",
                 t->sliding ? "sliding attention" : "full attention");
        t->sinks = strcmp(mt, "gpt_oss") == 0;
        t->qk_norm = qk_norm;
        seattn_attention_desc *d = &t->desc;
        d->n_heads = (uint32_t)heads;
        d->n_kv_heads = (uint32_t)kv;
        d->head_dim = (uint32_t)hd;
        d->v_head_dim = (uint32_t)vd;
        d->rotary_dims = mla ? (uint32_t)rope_d : 2 * (uint32_t)(hd * prf / 2);
        d->rotary_offset = mla ? (uint32_t)nope : 0;
        d->rope_layout = mla || (inter && cJSON_IsTrue(inter)) ? SEATTN_ROPE_INTERLEAVED
                                                               : SEATTN_ROPE_ROTATE_HALF;
        d->logit_softcap = (float)cap;
        d->qk_norm_eps = qk_norm ? (float)eps : 0.0f; /* the norm's own eps (0: 1e-6) */
        d->flags = (t->sliding ? SEATTN_ATTN_NEIGHBOR_ONLY : 0) |
                   (t->sinks ? SEATTN_ATTN_SINKS : 0) |
                   (qk_norm ? SEATTN_ATTN_Q_NORM | SEATTN_ATTN_K_NORM : 0);
        /* Gemma 3's sliding layers: the local theta, no scaling */
        const bool local_rope = gemma3 && t->sliding && local > 0;
        const int r = layer_rope(t, cfg, local_rope ? local : theta, local_rope ? NULL : rs,
                                 d->rotary_dims, seq_len, m_pos, err, n);
        if (r < 0) return r;
        double scale = qpas > 0 ? 1.0 / sqrt(qpas) : 1.0 / sqrt(hd);
        double factor = 0, all_dim = 0;
        if (mla && rs && num(rs, "mscale_all_dim", &all_dim, err, n) > 0 &&
            num(rs, "factor", &factor, err, n) > 0 && all_dim != 0) {
            const double g = yarn_g(factor, all_dim);
            scale *= g * g; /* DeepSeek's yarn_apply_mscale */
        }
        d->scale = (float)scale;
    }
    return 0;
}

int model_config_load(const char *path, uint32_t seq_len, model_info *m, char *err, size_t n) {
    memset(m, 0, sizeof *m);
    const char *base = strrchr(path, '/');
    snprintf(m->name, sizeof m->name, "%s", base ? base + 1 : path);
    size_t len = 0;
    char *text = cli_read_file(path, &len);
    if (!text) {
        snprintf(err, n, "%s: cannot be read", path);
        return -1;
    }
    cJSON *cfg = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(cfg)) {
        snprintf(err, n, "%s: not a JSON object", path);
        cJSON_Delete(cfg);
        return -1;
    }
    /* a multimodal config keeps the language model's under text_config */
    const cJSON *tc = get(cfg, "text_config");
    const int rc = load(tc && cJSON_IsObject(tc) ? tc : cfg, seq_len, m, err, n);
    cJSON_Delete(cfg);
    return rc;
}

void model_recommend(uint32_t l, uint32_t n, int32_t *g, int32_t *w) {
    if (n <= l || l < 4) { /* nothing to extend, or too short a training to keep a window */
        *g = 1;
        *w = 0;
        return;
    }
    uint32_t win = l / 4;
    if (win >= 256) win = win / 256 * 256;
    if (win > 4096) win = 4096;
    if (win < 1) win = 1;
    *w = (int32_t)win;
    const uint64_t span = l - win;
    *g = (int32_t)((n - win + span - 1) / span);
}
