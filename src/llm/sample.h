/* sample.h -- choosing the next token from logits.
 *
 * The sampler applies, in this order:
 *   1. the mask: banned token ids get -inf;
 *   2. the repetition penalty over the last `repeat_last_n` tokens of the
 *      history (CTRL / llama.cpp rule: each distinct token's logit is
 *      divided by the penalty when positive, multiplied when negative);
 *   3. temperature <= 0: greedy, the highest logit (lowest id on ties);
 *   4. otherwise logits / temperature, softmax, then the filters top-k,
 *      top-p (smallest set of most likely tokens whose probability reaches
 *      p), min-p (drop tokens below min_p x the top probability), each on
 *      the probabilities left by the previous one, and one draw from what
 *      remains (renormalised).
 * Ties between equal probabilities are broken by the lower token id, so the
 * result is deterministic for a given seed on every platform.
 *
 * Randomness comes from llm_rng_t: xorshift64* (Marsaglia's xorshift with
 * shifts 12, 25, 27, output multiplied by 0x2545F4914F6CDD1D, upper 32
 * bits), the generator llama2.c's run.c uses. llm_rng_seed() passes the seed
 * through splitmix64 first, so every seed (0 too) gives a good state.
 *
 * llama2.c compatibility: with `llama2c = 1` the sampler is run.c's
 * (karpathy/llama2.c, commit 350e04fe): the seed is the raw xorshift state
 * (as `run -s`), temperature 0 is argmax, otherwise logits / temperature,
 * softmax, one coin per token, and top-p with run.c's cutoff prefilter when
 * 0 < top_p < 1, plain multinomial otherwise; top_k, min_p are ignored.
 * This reproduces run.c's sampled outputs token for token.
 *
 * A sampler is one sequence's: not thread-safe. */
#ifndef COPYD_LLM_SAMPLE_H
#define COPYD_LLM_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* ---- random numbers --------------------------------------------------- */

typedef struct llm_rng {
    uint64_t state; /* never 0 */
} llm_rng_t;

/* state = splitmix64(seed) (0 replaced by a fixed odd constant). */
void llm_rng_seed(llm_rng_t *r, uint64_t seed);
/* state = seed exactly, as llama2.c does (0 replaced as above). */
void llm_rng_seed_raw(llm_rng_t *r, uint64_t seed);
uint32_t llm_rng_u32(llm_rng_t *r);
/* Uniform in [0, 1): the top 24 bits of llm_rng_u32 / 2^24. */
float llm_rng_f32(llm_rng_t *r);

/* ---- logit mask ------------------------------------------------------- */

/* A bitset over token ids; a set bit bans the token. */
typedef struct llm_mask {
    uint64_t *bits;
    int n; /* token ids 0..n-1 */
} llm_mask_t;

/* All tokens allowed. 0, or -1 when out of memory or n < 0. */
int llm_mask_init(llm_mask_t *m, int n);
void llm_mask_free(llm_mask_t *m);
/* Ids outside [0, n) are ignored. */
void llm_mask_ban(llm_mask_t *m, int id);
void llm_mask_allow(llm_mask_t *m, int id);
void llm_mask_clear(llm_mask_t *m);
int llm_mask_banned(const llm_mask_t *m, int id);
/* logits[id] = -inf for each banned id < n. */
void llm_mask_apply(const llm_mask_t *m, float *logits, int n);

/* ---- sampler ---------------------------------------------------------- */

typedef struct llm_sample_params {
    float temperature;    /* <= 0: greedy */
    int top_k;            /* keep the k most likely; <= 0: off */
    float top_p;          /* nucleus; <= 0 or >= 1: off */
    float min_p;          /* <= 0: off */
    float repeat_penalty; /* 1 (or <= 0): off */
    int repeat_last_n;    /* history window for the penalty; < 0: all of it */
    uint64_t seed;
    int llama2c;          /* 1: llama2.c run.c's sampler (see above) */
} llm_sample_params_t;

/* temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1.1
 * over 64 tokens, seed 0, llama2c 0. */
void llm_sample_params_default(llm_sample_params_t *p);

typedef struct llm_sampler llm_sampler_t;

/* NULL when out of memory or n_vocab < 1. */
llm_sampler_t *llm_sampler_new(int n_vocab, const llm_sample_params_t *p);
void llm_sampler_free(llm_sampler_t *s);
/* Restarts the random sequence from `seed` (as the params' seed would). */
void llm_sampler_reseed(llm_sampler_t *s, uint64_t seed);

/* Picks the next token from n_vocab `logits` (modified in place: masked,
 * penalised, scaled). `history` (may be NULL when n_history is 0) is the
 * sequence so far, for the repetition penalty; `mask` may be NULL.
 * Returns a token id, or -1 when every token is banned or NaN. */
int llm_sampler_sample(llm_sampler_t *s, float *logits, const int32_t *history, int n_history,
                       const llm_mask_t *mask);

/* Index of the highest logit (lowest id on ties, NaN and -inf skipped);
 * -1 when there is none. */
int llm_argmax(const float *logits, int n);

/* ---- stop strings ----------------------------------------------------- */

/* The earliest occurrence in text[0, len) of any of the n_stops strings
 * (NULL or empty ones are ignored): returns which string (0-based) and
 * stores its offset in *at; -1 when none occurs. On equal offsets the
 * longer stop string wins. */
int llm_stop_find(const char *text, size_t len, const char *const *stops, int n_stops, size_t *at);
/* 1 when the text ends with one of the stop strings. */
int llm_stop_ends_with(const char *text, size_t len, const char *const *stops, int n_stops);
/* Length of the longest tail of the text that is the beginning (shorter
 * than the whole) of a stop string: while streaming, hold back that many
 * bytes, since the next tokens may complete a stop string. */
size_t llm_stop_partial(const char *text, size_t len, const char *const *stops, int n_stops);

#endif
