/* model.c -- loading a llama / qwen2 transformer from GGUF and running it.
 *
 * Read top to bottom: configuration keys, tensor lookup and validation,
 * the per-sequence state, then forward() for one token -- the same steps
 * as llama2.c's run.c, with GGUF tensors and quantised rows. */
#include "llm/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/kernels/kernels.h"
#include "llm/quant.h"

/* Upper bounds that keep every size computation far from int overflow;
 * real models are well inside them. */
#define LLM_MAX_LAYERS 4096
#define LLM_MAX_DIM (1 << 20)      /* n_embd, n_ff, q/kv widths */
#define LLM_MAX_VOCAB (1 << 24)

typedef struct llm_layer {
    const gguf_tensor_t *attn_norm, *wq, *wk, *wv, *wo;
    const gguf_tensor_t *bq, *bk, *bv;   /* NULL unless has_qkv_bias */
    const gguf_tensor_t *ffn_norm, *w_gate, *w_up, *w_down;
} llm_layer_t;

struct llm_model {
    llm_config_t cfg;
    const gguf_t *g;
    const gguf_tensor_t *tok_embd, *output_norm, *output; /* output == tok_embd when tied */
    llm_layer_t *layers;
    int q_dim, kv_dim; /* n_head * head_dim, n_head_kv * head_dim */
};

struct llm_state {
    const llm_model_t *m;
    int n_ctx, pos;
    float *key_cache, *value_cache; /* [n_layer][n_ctx][kv_dim] */
    float *x;      /* residual stream, n_embd */
    float *xb;     /* normed input / attention output, max(n_embd, q_dim) */
    float *xb2;    /* projection output, n_embd */
    float *q;      /* q_dim */
    float *hb, *hb2; /* n_ff */
    float *att;    /* n_ctx scores of one head */
    float *rowbuf; /* one dequantised weight row, max row length */
};

static void seterr(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errsz, const char *fmt, ...) {
    if (!err || errsz == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* ---- configuration ---------------------------------------------------- */

/* Reads "{arch}.{suffix}" as a positive int no larger than `max`.
 * 1 found, 0 absent (*out untouched), -1 present but invalid. */
static int get_int(const gguf_t *g, const char *arch, const char *suffix, int max, int *out,
                   char *err, size_t errsz) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (!gguf_find(g, key)) return 0;
    int64_t v;
    if (gguf_get_i64(g, key, &v) != 0 || v < 1 || v > max) {
        seterr(err, errsz, "key '%s' must be an integer in [1, %d]", key, max);
        return -1;
    }
    *out = (int)v;
    return 1;
}

static int get_float(const gguf_t *g, const char *arch, const char *suffix, float *out,
                     char *err, size_t errsz) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (!gguf_find(g, key)) return 0;
    float v;
    if (gguf_get_f32(g, key, &v) != 0 || !isfinite(v)) {
        seterr(err, errsz, "key '%s' must be a finite number", key);
        return -1;
    }
    *out = v;
    return 1;
}

static int require_int(const gguf_t *g, const char *arch, const char *suffix, int max, int *out,
                       char *err, size_t errsz) {
    int r = get_int(g, arch, suffix, max, out, err, errsz);
    if (r == 0) seterr(err, errsz, "missing key '%s.%s'", arch, suffix);
    return r == 1 ? 0 : -1;
}

static int read_config(const gguf_t *g, llm_config_t *c, char *err, size_t errsz) {
    memset(c, 0, sizeof *c);
    gguf_str_t a;
    if (gguf_get_str(g, "general.architecture", &a) != 0) {
        seterr(err, errsz, "missing key 'general.architecture'");
        return -1;
    }
    if ((a.len == 5 && memcmp(a.p, "llama", 5) == 0) || (a.len == 5 && memcmp(a.p, "qwen2", 5) == 0)) {
        memcpy(c->arch, a.p, a.len);
        c->arch[a.len] = '\0';
    } else {
        seterr(err, errsz, "unsupported architecture '%.*s' (copyd runs llama and qwen2)",
               (int)(a.len > 64 ? 64 : a.len), a.p);
        return -1;
    }
    const char *arch = c->arch;
    if (require_int(g, arch, "block_count", LLM_MAX_LAYERS, &c->n_layer, err, errsz) ||
        require_int(g, arch, "embedding_length", LLM_MAX_DIM, &c->n_embd, err, errsz) ||
        require_int(g, arch, "feed_forward_length", LLM_MAX_DIM, &c->n_ff, err, errsz) ||
        require_int(g, arch, "attention.head_count", LLM_MAX_DIM, &c->n_head, err, errsz))
        return -1;
    c->n_head_kv = c->n_head;
    if (get_int(g, arch, "attention.head_count_kv", LLM_MAX_DIM, &c->n_head_kv, err, errsz) < 0) return -1;
    c->n_ctx_train = 2048;
    if (get_int(g, arch, "context_length", 1 << 30, &c->n_ctx_train, err, errsz) < 0) return -1;

    c->head_dim = 0;
    if (get_int(g, arch, "attention.key_length", LLM_MAX_DIM, &c->head_dim, err, errsz) < 0) return -1;
    if (c->head_dim == 0) {
        if (c->n_embd % c->n_head != 0) {
            seterr(err, errsz, "embedding_length %d is not a multiple of head_count %d", c->n_embd, c->n_head);
            return -1;
        }
        c->head_dim = c->n_embd / c->n_head;
    }
    int vlen = c->head_dim;
    if (get_int(g, arch, "attention.value_length", LLM_MAX_DIM, &vlen, err, errsz) < 0) return -1;
    if (vlen != c->head_dim) {
        seterr(err, errsz, "attention.value_length %d differs from key_length %d (not supported)", vlen,
               c->head_dim);
        return -1;
    }
    if (c->n_head_kv > c->n_head || c->n_head % c->n_head_kv != 0) {
        seterr(err, errsz, "head_count %d is not a multiple of head_count_kv %d", c->n_head, c->n_head_kv);
        return -1;
    }
    if ((int64_t)c->n_head * c->head_dim > LLM_MAX_DIM) {
        seterr(err, errsz, "head_count x head size %d x %d is too large", c->n_head, c->head_dim);
        return -1;
    }
    c->rope_dim = c->head_dim;
    if (get_int(g, arch, "rope.dimension_count", LLM_MAX_DIM, &c->rope_dim, err, errsz) < 0) return -1;
    if (c->rope_dim > c->head_dim || c->rope_dim % 2 != 0) {
        seterr(err, errsz, "rope.dimension_count %d must be even and at most the head size %d", c->rope_dim,
               c->head_dim);
        return -1;
    }

    c->rms_eps = 1e-5f;
    if (get_float(g, arch, "attention.layer_norm_rms_epsilon", &c->rms_eps, err, errsz) < 0) return -1;
    if (c->rms_eps <= 0.0f) {
        seterr(err, errsz, "attention.layer_norm_rms_epsilon must be positive");
        return -1;
    }
    c->rope_freq_base = 10000.0f;
    if (get_float(g, arch, "rope.freq_base", &c->rope_freq_base, err, errsz) < 0) return -1;
    if (c->rope_freq_base <= 0.0f) {
        seterr(err, errsz, "rope.freq_base must be positive");
        return -1;
    }
    /* Linear rope scaling: the old key rope.scale_linear, or the newer
     * rope.scaling.type "linear" + rope.scaling.factor. Other scaling kinds
     * (yarn...) are refused rather than run wrongly. */
    c->rope_freq_scale = 1.0f;
    float factor = 0.0f;
    if (get_float(g, arch, "rope.scale_linear", &factor, err, errsz) < 0) return -1;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    gguf_str_t st;
    if (gguf_get_str(g, key, &st) == 0) {
        if (st.len == 6 && memcmp(st.p, "linear", 6) == 0) {
            if (get_float(g, arch, "rope.scaling.factor", &factor, err, errsz) < 0) return -1;
        } else if (!(st.len == 4 && memcmp(st.p, "none", 4) == 0)) {
            seterr(err, errsz, "rope scaling '%.*s' is not supported", (int)(st.len > 32 ? 32 : st.len), st.p);
            return -1;
        }
    }
    if (factor != 0.0f) {
        if (factor < 0.0f) {
            seterr(err, errsz, "rope scaling factor must be positive");
            return -1;
        }
        c->rope_freq_scale = 1.0f / factor;
    }
    c->rope_neox = strcmp(arch, "qwen2") == 0;
    return 0;
}

/* ---- tensors ---------------------------------------------------------- */

static int type_usable(ggml_type_t t) {
    if (t == GGML_TYPE_F32) return 1;
    const ggml_type_traits_t *tr = ggml_type_traits(t);
    return tr && tr->can_dequantize;
}

/* Finds `name` and checks its shape is [ne0] (ne1 == 0) or [ne0, ne1].
 * Matrices may be of any usable type; vectors (norms, biases) must be F32.
 * NULL with a message otherwise (and also when absent and !optional). */
static const gguf_tensor_t *find_tensor(const gguf_t *g, const char *name, int64_t ne0, int64_t ne1,
                                        int optional, int *failed, char *err, size_t errsz) {
    if (*failed) return NULL;
    const gguf_tensor_t *t = gguf_tensor(g, name);
    if (!t) {
        if (!optional) {
            seterr(err, errsz, "tensor '%s' is missing", name);
            *failed = 1;
        }
        return NULL;
    }
    int64_t want1 = ne1 ? ne1 : 1;
    if ((int64_t)t->ne[0] != ne0 || (int64_t)t->ne[1] != want1 || t->ne[2] != 1 || t->ne[3] != 1) {
        if (ne1)
            seterr(err, errsz,
                   "tensor '%s' has shape [%llu, %llu, %llu, %llu], expected [%lld, %lld]", name,
                   (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
                   (unsigned long long)t->ne[3], (long long)ne0, (long long)ne1);
        else
            seterr(err, errsz, "tensor '%s' has shape [%llu, %llu, %llu, %llu], expected [%lld]", name,
                   (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
                   (unsigned long long)t->ne[3], (long long)ne0);
        *failed = 1;
        return NULL;
    }
    if (ne1 == 0 && t->type != GGML_TYPE_F32) {
        seterr(err, errsz, "tensor '%s' has type %s; vectors must be f32", name, ggml_type_name(t->type));
        *failed = 1;
        return NULL;
    }
    if (!type_usable(t->type)) {
        seterr(err, errsz, "tensor '%s' has type %s, which copyd cannot compute with", name,
               ggml_type_name(t->type));
        *failed = 1;
        return NULL;
    }
    /* The reader validated nbytes against the file; make sure it is the size
     * this shape and type need, so row arithmetic never leaves the data. */
    uint64_t rb = ggml_row_bytes(t->type, (uint64_t)ne0);
    if (rb == 0) {
        const ggml_type_traits_t *tr = ggml_type_traits(t->type);
        seterr(err, errsz, "tensor '%s': row length %lld is not a multiple of the %s block size %d", name,
               (long long)ne0, ggml_type_name(t->type), tr ? tr->blck_size : 0);
        *failed = 1;
        return NULL;
    }
    if (t->nbytes < rb * (uint64_t)want1) {
        seterr(err, errsz, "tensor '%s': rows of %lld %s elements do not fit its %llu bytes", name,
               (long long)ne0, ggml_type_name(t->type), (unsigned long long)t->nbytes);
        *failed = 1;
        return NULL;
    }
    return t;
}

llm_model_t *llm_model_load(const gguf_t *g, char *err, size_t errsz) {
    if (!g) {
        seterr(err, errsz, "no GGUF file");
        return NULL;
    }
    llm_model_t *m = calloc(1, sizeof *m);
    if (!m) {
        seterr(err, errsz, "out of memory");
        return NULL;
    }
    m->g = g;
    llm_config_t *c = &m->cfg;
    if (read_config(g, c, err, errsz) != 0) goto fail;
    m->q_dim = c->n_head * c->head_dim;
    m->kv_dim = c->n_head_kv * c->head_dim;

    /* The vocabulary size comes from the embedding matrix itself. */
    const gguf_tensor_t *te = gguf_tensor(g, "token_embd.weight");
    if (!te) {
        seterr(err, errsz, "tensor 'token_embd.weight' is missing");
        goto fail;
    }
    if (te->ne[1] < 1 || te->ne[1] > LLM_MAX_VOCAB) {
        seterr(err, errsz, "tensor 'token_embd.weight' has %llu rows; expected 1..%d tokens",
               (unsigned long long)te->ne[1], LLM_MAX_VOCAB);
        goto fail;
    }
    c->n_vocab = (int)te->ne[1];

    int failed = 0;
    m->tok_embd = find_tensor(g, "token_embd.weight", c->n_embd, c->n_vocab, 0, &failed, err, errsz);
    m->output_norm = find_tensor(g, "output_norm.weight", c->n_embd, 0, 0, &failed, err, errsz);
    m->output = find_tensor(g, "output.weight", c->n_embd, c->n_vocab, 1, &failed, err, errsz);
    if (failed) goto fail;
    if (!m->output) {
        m->output = m->tok_embd;
        c->tied_output = 1;
    }

    m->layers = calloc((size_t)c->n_layer, sizeof *m->layers);
    if (!m->layers) {
        seterr(err, errsz, "out of memory");
        goto fail;
    }
    /* Q/K/V biases: required for qwen2, optional (all layers or none) for llama. */
    c->has_qkv_bias = strcmp(c->arch, "qwen2") == 0 || gguf_tensor(g, "blk.0.attn_q.bias") != NULL;
    char name[96];
#define T(field, suffix, ne0, ne1)                                                           \
    do {                                                                                     \
        snprintf(name, sizeof name, "blk.%d.%s", i, suffix);                                 \
        L->field = find_tensor(g, name, ne0, ne1, 0, &failed, err, errsz);                   \
    } while (0)
    for (int i = 0; i < c->n_layer && !failed; i++) {
        llm_layer_t *L = &m->layers[i];
        T(attn_norm, "attn_norm.weight", c->n_embd, 0);
        T(wq, "attn_q.weight", c->n_embd, m->q_dim);
        T(wk, "attn_k.weight", c->n_embd, m->kv_dim);
        T(wv, "attn_v.weight", c->n_embd, m->kv_dim);
        T(wo, "attn_output.weight", m->q_dim, c->n_embd);
        if (c->has_qkv_bias) {
            T(bq, "attn_q.bias", m->q_dim, 0);
            T(bk, "attn_k.bias", m->kv_dim, 0);
            T(bv, "attn_v.bias", m->kv_dim, 0);
        }
        T(ffn_norm, "ffn_norm.weight", c->n_embd, 0);
        T(w_gate, "ffn_gate.weight", c->n_embd, c->n_ff);
        T(w_up, "ffn_up.weight", c->n_embd, c->n_ff);
        T(w_down, "ffn_down.weight", c->n_ff, c->n_embd);
    }
#undef T
    if (failed) goto fail;
    return m;

fail:
    llm_model_free(m);
    return NULL;
}

const llm_config_t *llm_model_config(const llm_model_t *m) { return &m->cfg; }

void llm_model_free(llm_model_t *m) {
    if (!m) return;
    free(m->layers);
    free(m);
}

/* ---- state ------------------------------------------------------------ */

static int imax(int a, int b) { return a > b ? a : b; }

llm_state_t *llm_state_new(const llm_model_t *m, int n_ctx) {
    if (!m) return NULL;
    const llm_config_t *c = &m->cfg;
    if (n_ctx <= 0) n_ctx = c->n_ctx_train;
    size_t cache = (size_t)c->n_layer * (size_t)n_ctx;
    if (cache / (size_t)n_ctx != (size_t)c->n_layer || cache > SIZE_MAX / sizeof(float) / (size_t)m->kv_dim)
        return NULL;
    cache *= (size_t)m->kv_dim;

    llm_state_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->m = m;
    s->n_ctx = n_ctx;
    int wide = imax(c->n_embd, m->q_dim);
    s->key_cache = malloc(cache * sizeof(float));
    s->value_cache = malloc(cache * sizeof(float));
    s->x = malloc((size_t)c->n_embd * sizeof(float));
    s->xb = malloc((size_t)wide * sizeof(float));
    s->xb2 = malloc((size_t)c->n_embd * sizeof(float));
    s->q = malloc((size_t)m->q_dim * sizeof(float));
    s->hb = malloc((size_t)c->n_ff * sizeof(float));
    s->hb2 = malloc((size_t)c->n_ff * sizeof(float));
    s->att = malloc((size_t)n_ctx * sizeof(float));
    s->rowbuf = malloc((size_t)imax(wide, c->n_ff) * sizeof(float));
    if (!s->key_cache || !s->value_cache || !s->x || !s->xb || !s->xb2 || !s->q || !s->hb || !s->hb2 ||
        !s->att || !s->rowbuf) {
        llm_state_free(s);
        return NULL;
    }
    return s;
}

void llm_state_free(llm_state_t *s) {
    if (!s) return;
    free(s->key_cache);
    free(s->value_cache);
    free(s->x);
    free(s->xb);
    free(s->xb2);
    free(s->q);
    free(s->hb);
    free(s->hb2);
    free(s->att);
    free(s->rowbuf);
    free(s);
}

void llm_state_reset(llm_state_t *s) {
    if (s) s->pos = 0;
}

int llm_state_pos(const llm_state_t *s) { return s ? s->pos : 0; }

int llm_state_n_ctx(const llm_state_t *s) { return s ? s->n_ctx : 0; }

/* ---- forward pass ----------------------------------------------------- */

static int matvec(float *y, const gguf_tensor_t *w, const float *x, float *rowbuf) {
    return k_matvec(y, w->data, w->type, (int)w->ne[1], (int)w->ne[0], x, rowbuf);
}

static void add_bias(float *y, const gguf_tensor_t *b) {
    if (b) k_add(y, (const float *)b->data, (int)b->ne[0]);
}

/* One token at position s->pos; writes the logits when `logits` != NULL.
 * Types and shapes were validated at load time, so the kernels cannot
 * fail here; a -1 from them would mean a bug and is passed up. */
static int forward(const llm_model_t *m, llm_state_t *s, int token, float *logits) {
    const llm_config_t *c = &m->cfg;
    const int dim = c->n_embd, hd = c->head_dim, kv_dim = m->kv_dim, pos = s->pos;
    const int group = c->n_head / c->n_head_kv; /* query heads per K/V head */
    const float inv_sqrt_hd = 1.0f / sqrtf((float)hd);
    float *x = s->x;
    int rc = 0;

    rc |= k_get_row(x, m->tok_embd->data, m->tok_embd->type, dim, token);

    for (int l = 0; l < c->n_layer; l++) {
        const llm_layer_t *L = &m->layers[l];
        size_t loff = (size_t)l * s->n_ctx * kv_dim;
        float *k = s->key_cache + loff + (size_t)pos * kv_dim;
        float *v = s->value_cache + loff + (size_t)pos * kv_dim;

        /* attention: q, k, v for this position; k and v go into the cache */
        k_rmsnorm(s->xb, x, (const float *)L->attn_norm->data, dim, c->rms_eps);
        rc |= matvec(s->q, L->wq, s->xb, s->rowbuf);
        rc |= matvec(k, L->wk, s->xb, s->rowbuf);
        rc |= matvec(v, L->wv, s->xb, s->rowbuf);
        add_bias(s->q, L->bq);
        add_bias(k, L->bk);
        add_bias(v, L->bv);
        for (int h = 0; h < c->n_head; h++)
            k_rope(s->q + h * hd, c->rope_dim, pos, c->rope_freq_base, c->rope_freq_scale, c->rope_neox);
        for (int h = 0; h < c->n_head_kv; h++)
            k_rope(k + h * hd, c->rope_dim, pos, c->rope_freq_base, c->rope_freq_scale, c->rope_neox);

        /* each query head attends over positions 0..pos of its K/V head */
        for (int h = 0; h < c->n_head; h++) {
            const float *q = s->q + h * hd;
            const int kvh = h / group;
            for (int t = 0; t <= pos; t++) {
                const float *kt = s->key_cache + loff + (size_t)t * kv_dim + kvh * hd;
                s->att[t] = k_dot(q, kt, hd) * inv_sqrt_hd;
            }
            k_softmax(s->att, pos + 1);
            float *out = s->xb + h * hd;
            memset(out, 0, (size_t)hd * sizeof(float));
            for (int t = 0; t <= pos; t++) {
                const float *vt = s->value_cache + loff + (size_t)t * kv_dim + kvh * hd;
                const float a = s->att[t];
                for (int i = 0; i < hd; i++) out[i] += a * vt[i];
            }
        }
        rc |= matvec(s->xb2, L->wo, s->xb, s->rowbuf);
        k_add(x, s->xb2, dim);

        /* feed-forward: down(silu(gate(x)) * up(x)) */
        k_rmsnorm(s->xb, x, (const float *)L->ffn_norm->data, dim, c->rms_eps);
        rc |= matvec(s->hb, L->w_gate, s->xb, s->rowbuf);
        rc |= matvec(s->hb2, L->w_up, s->xb, s->rowbuf);
        k_swiglu(s->hb, s->hb2, c->n_ff);
        rc |= matvec(s->xb2, L->w_down, s->hb, s->rowbuf);
        k_add(x, s->xb2, dim);
    }

    if (logits) {
        k_rmsnorm(x, x, (const float *)m->output_norm->data, dim, c->rms_eps);
        rc |= matvec(logits, m->output, x, s->rowbuf);
    }
    s->pos++;
    return rc ? -1 : 0;
}

int llm_eval(const llm_model_t *m, llm_state_t *s, const int32_t *tokens, int n, float *logits,
             float *all_logits) {
    if (!m || !s || s->m != m || !tokens || n < 1 || n > s->n_ctx - s->pos) return -1;
    const int n_vocab = m->cfg.n_vocab;
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab) return -1;
    for (int i = 0; i < n; i++) {
        float *out = NULL;
        if (all_logits) out = all_logits + (size_t)i * n_vocab;
        else if (logits && i == n - 1) out = logits;
        if (forward(m, s, tokens[i], out) != 0) return -1;
    }
    if (logits && all_logits) memcpy(logits, all_logits + (size_t)(n - 1) * n_vocab, (size_t)n_vocab * sizeof(float));
    return 0;
}
