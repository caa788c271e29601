/* model.c -- loading a llama / qwen2 transformer from GGUF and running it.
 *
 * Read top to bottom: configuration keys, tensor lookup and validation,
 * the per-sequence state, then forward() for one token -- the same steps
 * as llama2.c's run.c, with GGUF tensors and quantised rows. */
#include "llm/model.h"

#include <math.h>
#include <stdatomic.h>
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
    int exact;         /* 1: reference numerics (see llm_model_set_exact) */
};

struct llm_state {
    const llm_model_t *m;
    int n_ctx, pos;
    float *key_cache, *value_cache; /* [n_layer][n_ctx][kv_dim] */
    /* no scratch: a forward pass allocates its own (fwd_t), sized for the
     * items it runs, so idle states cost only their caches */
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
    const char *ex = getenv("COPYD_LLM_EXACT");
    m->exact = ex && strcmp(ex, "1") == 0;
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
    s->key_cache = malloc(cache * sizeof(float));
    s->value_cache = malloc(cache * sizeof(float));
    if (!s->key_cache || !s->value_cache) {
        llm_state_free(s);
        return NULL;
    }
    return s;
}

void llm_state_free(llm_state_t *s) {
    if (!s) return;
    free(s->key_cache);
    free(s->value_cache);
    free(s);
}

void llm_state_reset(llm_state_t *s) {
    if (s) s->pos = 0;
}

int llm_state_pos(const llm_state_t *s) { return s ? s->pos : 0; }

int llm_state_n_ctx(const llm_state_t *s) { return s ? s->n_ctx : 0; }

static void add_bias(float *y, const gguf_tensor_t *b) {
    if (b) k_add(y, (const float *)b->data, (int)b->ne[0]);
}

/* ---- forward pass -----------------------------------------------------
 *
 * Every evaluation -- a prompt of n tokens of one sequence, or one token of
 * each of n sequences -- is one pass over the layers with n "items", each a
 * (state, position, token). The matrix products take all n items at once
 * (k_matmul reads each weight row once for all of them); the K and V rows
 * of every item are stored in their caches before attention runs, and item
 * i attends over positions 0..pos_i of its own state, which is the causal
 * mask when the items are consecutive positions of one prompt. In exact
 * mode every number equals the one-token-at-a-time scalar engine's. */

typedef struct item {
    llm_state_t *s;
    int pos, token;
} item_t;

/* Largest number of prompt tokens in one pass: bounds the scratch memory
 * (about 12 * n_ff bytes per token) while keeping weight reuse high. */
#define LLM_PREFILL_CHUNK 128

typedef struct fwd {
    const llm_model_t *m;
    item_t *it;
    int n, nth;
    int exact;
    float *x, *xb, *xb2, *q, *kb, *vb, *hb, *hb2; /* n rows each */
    float *rope;                                  /* n rows of rope_dim (cos, sin) */
    float *att;                                   /* per thread: K_ATTN_MAX_Q rows of max_ctx scores */
    int max_ctx;
    int layer;
    atomic_int next;
} fwd_t;

static void fwd_free(fwd_t *f) {
    free(f->x);
    free(f->xb);
    free(f->xb2);
    free(f->q);
    free(f->kb);
    free(f->vb);
    free(f->hb);
    free(f->hb2);
    free(f->rope);
    free(f->att);
}

static int fwd_alloc(fwd_t *f, const llm_model_t *m, item_t *it, int n) {
    const llm_config_t *c = &m->cfg;
    memset(f, 0, sizeof *f);
    f->m = m;
    f->it = it;
    f->n = n;
    f->exact = m->exact;
    f->nth = k_threads();
    for (int i = 0; i < n; i++)
        if (it[i].pos + 1 > f->max_ctx) f->max_ctx = it[i].pos + 1;
    size_t nn = (size_t)n;
    int wide = imax(c->n_embd, m->q_dim);
    f->x = malloc(nn * c->n_embd * sizeof(float));
    f->xb = malloc(nn * wide * sizeof(float));
    f->xb2 = malloc(nn * c->n_embd * sizeof(float));
    f->q = malloc(nn * m->q_dim * sizeof(float));
    f->kb = malloc(nn * m->kv_dim * sizeof(float));
    f->vb = malloc(nn * m->kv_dim * sizeof(float));
    f->hb = malloc(nn * c->n_ff * sizeof(float));
    f->hb2 = malloc(nn * c->n_ff * sizeof(float));
    f->rope = malloc(nn * (size_t)imax(c->rope_dim, 2) * sizeof(float));
    f->att = malloc((size_t)f->nth * K_ATTN_MAX_Q * f->max_ctx * sizeof(float));
    if (!f->x || !f->xb || !f->xb2 || !f->q || !f->kb || !f->vb || !f->hb || !f->hb2 || !f->rope || !f->att) {
        fwd_free(f);
        return -1;
    }
    return 0;
}

static k_mat_t mat(const gguf_tensor_t *w, float *y, int ldy) {
    k_mat_t r = {w->data, w->type, (int)w->ne[1], y, ldy};
    return r;
}

/* Attention, spread over the threads. Exact mode: one task per (item,
 * head), the reference loops. Fast mode: one task per (item, key/value
 * head, chunk of up to K_ATTN_MAX_Q of the query heads sharing it), so
 * k_attn_fast reads each cached key and value row once for the chunk. */
static int attention_tasks(const fwd_t *f) {
    const llm_config_t *c = &f->m->cfg;
    if (f->exact) return f->n * c->n_head;
    const int group = c->n_head / c->n_head_kv;
    return f->n * c->n_head_kv * ((group + K_ATTN_MAX_Q - 1) / K_ATTN_MAX_Q);
}

static void attention_task(void *arg, int ith, int nth) {
    (void)nth;
    fwd_t *f = arg;
    const llm_model_t *m = f->m;
    const llm_config_t *c = &m->cfg;
    const int hd = c->head_dim, kv_dim = m->kv_dim, group = c->n_head / c->n_head_kv;
    const int chunks = (group + K_ATTN_MAX_Q - 1) / K_ATTN_MAX_Q;
    const float inv_sqrt_hd = 1.0f / sqrtf((float)hd);
    const int wide = imax(c->n_embd, m->q_dim);
    const int total = attention_tasks(f);
    float *att = f->att + (size_t)ith * K_ATTN_MAX_Q * f->max_ctx;
    for (;;) {
        int idx = atomic_fetch_add_explicit(&f->next, 1, memory_order_relaxed);
        if (idx >= total) break;
        int i, h, nq;
        if (f->exact) {
            i = idx / c->n_head;
            h = idx % c->n_head;
            nq = 1;
        } else {
            const int per_item = c->n_head_kv * chunks;
            i = idx / per_item;
            const int kvh = idx % per_item / chunks, ch = idx % chunks;
            h = kvh * group + ch * K_ATTN_MAX_Q;
            nq = group - ch * K_ATTN_MAX_Q < K_ATTN_MAX_Q ? group - ch * K_ATTN_MAX_Q : K_ATTN_MAX_Q;
        }
        const int kvh = h / group;
        const llm_state_t *s = f->it[i].s;
        const int pos = f->it[i].pos;
        const size_t loff = (size_t)f->layer * s->n_ctx * kv_dim;
        const float *q = f->q + (size_t)i * m->q_dim + h * hd;
        float *out = f->xb + (size_t)i * wide + h * hd;
        const float *keys = s->key_cache + loff + kvh * hd, *vals = s->value_cache + loff + kvh * hd;
        if (!f->exact) {
            k_attn_fast(out, q, nq, keys, vals, (size_t)kv_dim, pos + 1, hd, inv_sqrt_hd, att);
            continue;
        }
        for (int t = 0; t <= pos; t++) att[t] = k_dot(q, keys + (size_t)t * kv_dim, hd) * inv_sqrt_hd;
        k_softmax(att, pos + 1);
        memset(out, 0, (size_t)hd * sizeof(float));
        for (int t = 0; t <= pos; t++) {
            const float *vt = vals + (size_t)t * kv_dim;
            const float a = att[t];
            for (int e = 0; e < hd; e++) out[e] += a * vt[e];
        }
    }
}

/* SwiGLU of all items, in chunks of elements (the exp() calls are the
 * cost; there are n * n_ff of them). */
#define SWIGLU_CHUNK 512
static void swiglu_task(void *arg, int ith, int nth) {
    (void)ith;
    (void)nth;
    fwd_t *f = arg;
    const size_t total = (size_t)f->n * f->m->cfg.n_ff;
    for (;;) {
        size_t a = (size_t)atomic_fetch_add_explicit(&f->next, 1, memory_order_relaxed) * SWIGLU_CHUNK;
        if (a >= total) break;
        size_t b = a + SWIGLU_CHUNK < total ? a + SWIGLU_CHUNK : total;
        (f->exact ? k_swiglu : k_swiglu_fast)(f->hb + a, f->hb2 + a, (int)(b - a));
    }
}

static void run_parallel(fwd_t *f, k_task_fn fn) {
    atomic_store(&f->next, 0);
    k_parallel(fn, f, f->nth);
}

/* Runs the n items; item i >= first_logits writes its n_vocab logits to
 * logits + (i - first_logits) * n_vocab (none when logits is NULL).
 * Tokens, positions and states were checked by the caller. */
static int forward(const llm_model_t *m, item_t *it, int n, float *logits, int first_logits) {
    const llm_config_t *c = &m->cfg;
    const int dim = c->n_embd, hd = c->head_dim, kv_dim = m->kv_dim, q_dim = m->q_dim, ff = c->n_ff;
    const int wide = imax(dim, q_dim), rd = imax(c->rope_dim, 2);
    fwd_t f;
    if (fwd_alloc(&f, m, it, n) != 0) return -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        rc |= k_get_row(f.x + (size_t)i * dim, m->tok_embd->data, m->tok_embd->type, dim, it[i].token);
        k_rope_table(f.rope + (size_t)i * rd, c->rope_dim, it[i].pos, c->rope_freq_base, c->rope_freq_scale);
    }

    for (int l = 0; l < c->n_layer && rc == 0; l++) {
        const llm_layer_t *L = &m->layers[l];
        f.layer = l;
        /* attention: q, k, v of every item; k and v go into the caches */
        for (int i = 0; i < n; i++)
            k_rmsnorm(f.xb + (size_t)i * wide, f.x + (size_t)i * dim, (const float *)L->attn_norm->data, dim,
                      c->rms_eps);
        k_mat_t qkv[3] = {mat(L->wq, f.q, q_dim), mat(L->wk, f.kb, kv_dim), mat(L->wv, f.vb, kv_dim)};
        rc |= k_matmul(qkv, 3, dim, f.xb, wide, n, f.exact);
        for (int i = 0; i < n; i++) {
            float *q = f.q + (size_t)i * q_dim, *k = f.kb + (size_t)i * kv_dim, *v = f.vb + (size_t)i * kv_dim;
            const float *cs = f.rope + (size_t)i * rd;
            add_bias(q, L->bq);
            add_bias(k, L->bk);
            add_bias(v, L->bv);
            for (int h = 0; h < c->n_head; h++) k_rope_apply(q + h * hd, cs, c->rope_dim, c->rope_neox);
            for (int h = 0; h < c->n_head_kv; h++) k_rope_apply(k + h * hd, cs, c->rope_dim, c->rope_neox);
            llm_state_t *s = it[i].s;
            size_t off = ((size_t)l * s->n_ctx + (size_t)it[i].pos) * kv_dim;
            memcpy(s->key_cache + off, k, (size_t)kv_dim * sizeof(float));
            memcpy(s->value_cache + off, v, (size_t)kv_dim * sizeof(float));
        }
        run_parallel(&f, attention_task);
        k_mat_t o[1] = {mat(L->wo, f.xb2, dim)};
        rc |= k_matmul(o, 1, q_dim, f.xb, wide, n, f.exact);
        for (int i = 0; i < n; i++) k_add(f.x + (size_t)i * dim, f.xb2 + (size_t)i * dim, dim);

        /* feed-forward: down(silu(gate(x)) * up(x)) */
        for (int i = 0; i < n; i++)
            k_rmsnorm(f.xb + (size_t)i * wide, f.x + (size_t)i * dim, (const float *)L->ffn_norm->data, dim,
                      c->rms_eps);
        k_mat_t gu[2] = {mat(L->w_gate, f.hb, ff), mat(L->w_up, f.hb2, ff)};
        rc |= k_matmul(gu, 2, dim, f.xb, wide, n, f.exact);
        run_parallel(&f, swiglu_task);
        k_mat_t d[1] = {mat(L->w_down, f.xb2, dim)};
        rc |= k_matmul(d, 1, ff, f.hb, ff, n, f.exact);
        for (int i = 0; i < n; i++) k_add(f.x + (size_t)i * dim, f.xb2 + (size_t)i * dim, dim);
    }

    if (rc == 0 && logits && first_logits < n) {
        for (int i = first_logits; i < n; i++) {
            float *xi = f.x + (size_t)i * dim;
            k_rmsnorm(xi, xi, (const float *)m->output_norm->data, dim, c->rms_eps);
        }
        k_mat_t out[1] = {mat(m->output, logits, c->n_vocab)};
        rc |= k_matmul(out, 1, dim, f.x + (size_t)first_logits * dim, dim, n - first_logits, f.exact);
    }
    fwd_free(&f);
    return rc ? -1 : 0;
}

int llm_eval(const llm_model_t *m, llm_state_t *s, const int32_t *tokens, int n, float *logits,
             float *all_logits) {
    if (!m || !s || s->m != m || !tokens || n < 1 || n > s->n_ctx - s->pos) return -1;
    const int n_vocab = m->cfg.n_vocab;
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab) return -1;
    const int pos0 = s->pos;
    item_t *it = malloc((size_t)(n < LLM_PREFILL_CHUNK ? n : LLM_PREFILL_CHUNK) * sizeof *it);
    if (!it) return -1;
    int rc = 0;
    for (int done = 0; done < n && rc == 0;) {
        int cn = n - done < LLM_PREFILL_CHUNK ? n - done : LLM_PREFILL_CHUNK;
        for (int i = 0; i < cn; i++) {
            it[i].s = s;
            it[i].pos = s->pos + i;
            it[i].token = tokens[done + i];
        }
        if (all_logits)
            rc = forward(m, it, cn, all_logits + (size_t)done * n_vocab, 0);
        else if (logits && done + cn == n)
            rc = forward(m, it, cn, logits, cn - 1);
        else
            rc = forward(m, it, cn, NULL, cn);
        if (rc == 0) s->pos += cn;
        done += cn;
    }
    free(it);
    if (rc != 0) {
        s->pos = pos0; /* out of memory: the sequence is as before */
        return -1;
    }
    if (logits && all_logits) memcpy(logits, all_logits + (size_t)(n - 1) * n_vocab, (size_t)n_vocab * sizeof(float));
    return 0;
}

/* ---- speed API -------------------------------------------------------- */

int llm_set_threads(int n) { return k_set_threads(n); }

int llm_threads(void) { return k_threads(); }

void llm_model_set_exact(llm_model_t *m, int exact) {
    if (m) m->exact = exact != 0;
}

int llm_model_exact(const llm_model_t *m) { return m ? m->exact : 0; }

int llm_eval_batch(const llm_model_t *m, llm_state_t **states, const int32_t *tokens, int n_seq,
                   float *logits) {
    if (!m || !states || !tokens || n_seq < 1) return -1;
    for (int i = 0; i < n_seq; i++) {
        if (!states[i] || states[i]->m != m || states[i]->pos >= states[i]->n_ctx) return -1;
        if (tokens[i] < 0 || tokens[i] >= m->cfg.n_vocab) return -1;
        for (int j = 0; j < i; j++)
            if (states[j] == states[i]) return -1;
    }
    item_t *it = malloc((size_t)n_seq * sizeof *it);
    if (!it) return -1;
    for (int i = 0; i < n_seq; i++) {
        it[i].s = states[i];
        it[i].pos = states[i]->pos;
        it[i].token = tokens[i];
    }
    int rc = forward(m, it, n_seq, logits, logits ? 0 : n_seq);
    free(it);
    if (rc != 0) return -1;
    for (int i = 0; i < n_seq; i++) states[i]->pos++;
    return 0;
}

int llm_state_copy(llm_state_t *dst, const llm_state_t *src) {
    if (!dst || !src || dst->m != src->m || src->pos > dst->n_ctx) return -1;
    if (dst == src) return 0;
    const llm_model_t *m = src->m;
    size_t row = (size_t)m->kv_dim * sizeof(float);
    for (int l = 0; l < m->cfg.n_layer; l++) {
        memcpy(dst->key_cache + (size_t)l * dst->n_ctx * m->kv_dim, src->key_cache + (size_t)l * src->n_ctx * m->kv_dim,
               (size_t)src->pos * row);
        memcpy(dst->value_cache + (size_t)l * dst->n_ctx * m->kv_dim,
               src->value_cache + (size_t)l * src->n_ctx * m->kv_dim, (size_t)src->pos * row);
    }
    dst->pos = src->pos;
    return 0;
}
