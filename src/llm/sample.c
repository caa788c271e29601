/* sample.c -- samplers, the logit mask, stop strings. */
#include "llm/sample.h"

#include "llm/kernels/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- random numbers --------------------------------------------------- */

#define RNG_ZERO_STATE 0x9E3779B97F4A7C15ull /* xorshift must not start at 0 */

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void llm_rng_seed(llm_rng_t *r, uint64_t seed) {
    r->state = splitmix64(seed);
    if (r->state == 0) r->state = RNG_ZERO_STATE;
}

void llm_rng_seed_raw(llm_rng_t *r, uint64_t seed) { r->state = seed ? seed : RNG_ZERO_STATE; }

uint32_t llm_rng_u32(llm_rng_t *r) {
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return (uint32_t)((r->state * 0x2545F4914F6CDD1Dull) >> 32);
}

float llm_rng_f32(llm_rng_t *r) { return (float)(llm_rng_u32(r) >> 8) / 16777216.0f; }

/* ---- logit mask ------------------------------------------------------- */

int llm_mask_init(llm_mask_t *m, int n) {
    m->bits = NULL;
    m->n = 0;
    if (n < 0) return -1;
    m->bits = calloc((size_t)n / 64 + 1, sizeof(uint64_t));
    if (!m->bits) return -1;
    m->n = n;
    return 0;
}

void llm_mask_free(llm_mask_t *m) {
    if (!m) return;
    free(m->bits);
    m->bits = NULL;
    m->n = 0;
}

void llm_mask_ban(llm_mask_t *m, int id) {
    if (id >= 0 && id < m->n) m->bits[id / 64] |= 1ull << (id % 64);
}

void llm_mask_allow(llm_mask_t *m, int id) {
    if (id >= 0 && id < m->n) m->bits[id / 64] &= ~(1ull << (id % 64));
}

void llm_mask_clear(llm_mask_t *m) {
    if (m->bits) memset(m->bits, 0, ((size_t)m->n / 64 + 1) * sizeof(uint64_t));
}

int llm_mask_banned(const llm_mask_t *m, int id) {
    return id >= 0 && id < m->n && (m->bits[id / 64] >> (id % 64) & 1);
}

void llm_mask_apply(const llm_mask_t *m, float *logits, int n) {
    int lim = n < m->n ? n : m->n;
    for (int w = 0; w * 64 < lim; w++) {
        uint64_t b = m->bits[w];
        while (b) {
            int id = w * 64 + __builtin_ctzll(b);
            b &= b - 1;
            if (id < lim) logits[id] = -INFINITY;
        }
    }
}

/* ---- sampler ---------------------------------------------------------- */

typedef struct {
    float p; /* logit, then probability */
    int id;
} cand_t;

struct llm_sampler {
    llm_sample_params_t p;
    int n_vocab;
    llm_rng_t rng;
    cand_t *cand;    /* n_vocab */
    uint64_t *seen;  /* n_vocab bits: tokens already penalised this call */
};

void llm_sample_params_default(llm_sample_params_t *p) {
    memset(p, 0, sizeof *p);
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.1f;
    p->repeat_last_n = 64;
}

llm_sampler_t *llm_sampler_new(int n_vocab, const llm_sample_params_t *p) {
    if (n_vocab < 1 || !p) return NULL;
    llm_sampler_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->p = *p;
    s->n_vocab = n_vocab;
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    s->seen = calloc((size_t)n_vocab / 64 + 1, sizeof(uint64_t));
    if (!s->cand || !s->seen) {
        llm_sampler_free(s);
        return NULL;
    }
    llm_sampler_reseed(s, p->seed);
    return s;
}

void llm_sampler_free(llm_sampler_t *s) {
    if (!s) return;
    free(s->cand);
    free(s->seen);
    free(s);
}

void llm_sampler_reseed(llm_sampler_t *s, uint64_t seed) {
    s->p.seed = seed;
    if (s->p.llama2c) llm_rng_seed_raw(&s->rng, seed);
    else llm_rng_seed(&s->rng, seed);
}

/* Two passes, the first SIMD: the largest value, then its first index
 * (no NaN compares equal, and -inf is "none"). */
int llm_argmax(const float *logits, int n) {
    if (n < 1) return -1;
    const float m = k_max_fast(logits, n);
    if (m == -INFINITY) return -1;
    for (int i = 0; i < n; i++)
        if (logits[i] == m) return i;
    return -1;
}

/* Descending by p, then ascending id: a total order, so the result does not
 * depend on the qsort implementation. */
static int cand_cmp(const void *a, const void *b) {
    const cand_t *x = a, *y = b;
    if (x->p > y->p) return -1;
    if (x->p < y->p) return 1;
    return (x->id > y->id) - (x->id < y->id);
}

static void apply_penalty(llm_sampler_t *s, float *logits, const int32_t *hist, int n_hist) {
    float pen = s->p.repeat_penalty;
    if (pen <= 0.0f || pen == 1.0f || !hist || n_hist <= 0 || s->p.repeat_last_n == 0) return;
    int from = 0;
    if (s->p.repeat_last_n > 0 && n_hist > s->p.repeat_last_n) from = n_hist - s->p.repeat_last_n;
    for (int i = from; i < n_hist; i++) {
        int t = hist[i];
        if (t < 0 || t >= s->n_vocab || (s->seen[t / 64] >> (t % 64) & 1)) continue;
        s->seen[t / 64] |= 1ull << (t % 64);
        logits[t] = logits[t] > 0.0f ? logits[t] / pen : logits[t] * pen;
    }
    for (int i = from; i < n_hist; i++) { /* clear only the bits we set */
        int t = hist[i];
        if (t >= 0 && t < s->n_vocab) s->seen[t / 64] &= ~(1ull << (t % 64));
    }
}

/* llama2.c run.c (commit 350e04fe) sample(): see sample.h. */
static int sample_llama2c(llm_sampler_t *s, float *logits) {
    const int n = s->n_vocab;
    const float temp = s->p.temperature, topp = s->p.top_p;
    if (temp == 0.0f) return llm_argmax(logits, n);
    for (int i = 0; i < n; i++) logits[i] /= temp;
    /* softmax, as run.c writes it */
    float max = logits[0];
    for (int i = 1; i < n; i++)
        if (logits[i] > max) max = logits[i];
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        logits[i] = expf(logits[i] - max);
        sum += logits[i];
    }
    for (int i = 0; i < n; i++) logits[i] /= sum;
    float coin = llm_rng_f32(&s->rng);
    if (topp <= 0.0f || topp >= 1.0f) {
        float cdf = 0.0f;
        for (int i = 0; i < n; i++) {
            cdf += logits[i];
            if (coin < cdf) return i;
        }
        return n - 1;
    }
    /* Tokens below (1 - topp) / (n - 1) cannot be in the nucleus. */
    const float cutoff = (1.0f - topp) / (float)(n - 1);
    int n0 = 0;
    for (int i = 0; i < n; i++) {
        if (logits[i] >= cutoff) {
            s->cand[n0].id = i;
            s->cand[n0].p = logits[i];
            n0++;
        }
    }
    if (n0 == 0) return llm_argmax(logits, n);
    qsort(s->cand, (size_t)n0, sizeof *s->cand, cand_cmp);
    float cum = 0.0f;
    int last = n0 - 1;
    for (int i = 0; i < n0; i++) {
        cum += s->cand[i].p;
        if (cum > topp) {
            last = i;
            break;
        }
    }
    float r = coin * cum, cdf = 0.0f;
    for (int i = 0; i <= last; i++) {
        cdf += s->cand[i].p;
        if (r < cdf) return s->cand[i].id;
    }
    return s->cand[last].id;
}

int llm_sampler_sample(llm_sampler_t *s, float *logits, const int32_t *history, int n_history,
                       const llm_mask_t *mask) {
    const int n = s->n_vocab;
    if (mask) llm_mask_apply(mask, logits, n);
    apply_penalty(s, logits, history, n_history);
    /* Nothing to choose from (all banned / NaN): say so, do not guess. */
    int best = llm_argmax(logits, n);
    if (best < 0) return -1;
    if (s->p.llama2c) {
        for (int i = 0; i < n; i++) /* run.c never sees NaN; keep its arithmetic finite */
            if (isnan(logits[i])) logits[i] = -INFINITY;
        return sample_llama2c(s, logits);
    }
    if (s->p.temperature <= 0.0f) return best;

    /* candidates: every allowed token, tempered logits, best first */
    int nc = 0;
    for (int i = 0; i < n; i++) {
        float v = logits[i];
        if (isnan(v) || v == -INFINITY) continue;
        s->cand[nc].id = i;
        s->cand[nc].p = v / s->p.temperature;
        nc++;
    }
    qsort(s->cand, (size_t)nc, sizeof *s->cand, cand_cmp);
    if (s->p.top_k > 0 && nc > s->p.top_k) nc = s->p.top_k;

    /* softmax over the candidates (the first is the largest) */
    float max = s->cand[0].p;
    double sum = 0.0;
    for (int i = 0; i < nc; i++) {
        s->cand[i].p = expf(s->cand[i].p - max);
        sum += s->cand[i].p;
    }
    for (int i = 0; i < nc; i++) s->cand[i].p = (float)(s->cand[i].p / sum);

    if (s->p.top_p > 0.0f && s->p.top_p < 1.0f) {
        double cum = 0.0;
        for (int i = 0; i < nc; i++) {
            cum += s->cand[i].p;
            if (cum >= s->p.top_p) {
                nc = i + 1;
                break;
            }
        }
    }
    if (s->p.min_p > 0.0f) {
        float floor = s->p.min_p * s->cand[0].p;
        int keep = 1;
        while (keep < nc && s->cand[keep].p >= floor) keep++;
        nc = keep;
    }

    /* one draw from what is left, renormalised */
    double total = 0.0;
    for (int i = 0; i < nc; i++) total += s->cand[i].p;
    double r = (double)llm_rng_f32(&s->rng) * total, cdf = 0.0;
    for (int i = 0; i < nc; i++) {
        cdf += s->cand[i].p;
        if (r < cdf) return s->cand[i].id;
    }
    return s->cand[nc - 1].id;
}

/* ---- stop strings ----------------------------------------------------- */

int llm_stop_find(const char *text, size_t len, const char *const *stops, int n_stops, size_t *at) {
    int found = -1;
    size_t best_at = 0, best_len = 0;
    for (int i = 0; i < n_stops; i++) {
        if (!stops[i] || !stops[i][0]) continue;
        size_t sl = strlen(stops[i]);
        const char *p = memmem(text, len, stops[i], sl);
        if (!p) continue;
        size_t off = (size_t)(p - text);
        if (found < 0 || off < best_at || (off == best_at && sl > best_len)) {
            found = i;
            best_at = off;
            best_len = sl;
        }
    }
    if (found >= 0 && at) *at = best_at;
    return found;
}

int llm_stop_ends_with(const char *text, size_t len, const char *const *stops, int n_stops) {
    for (int i = 0; i < n_stops; i++) {
        if (!stops[i] || !stops[i][0]) continue;
        size_t sl = strlen(stops[i]);
        if (sl <= len && memcmp(text + len - sl, stops[i], sl) == 0) return 1;
    }
    return 0;
}

size_t llm_stop_partial(const char *text, size_t len, const char *const *stops, int n_stops) {
    size_t best = 0;
    for (int i = 0; i < n_stops; i++) {
        if (!stops[i] || !stops[i][0]) continue;
        size_t sl = strlen(stops[i]);
        /* tails of length k < sl, longest first */
        for (size_t k = (sl - 1 < len ? sl - 1 : len); k > best; k--) {
            if (memcmp(text + len - k, stops[i], k) == 0) {
                best = k;
                break;
            }
        }
    }
    return best;
}
