/* model.h -- the transformer: weights from a GGUF file, one forward pass.
 *
 * Two architectures are understood, both decoder-only "pre-norm" stacks:
 *
 *   llama  token embedding -> n_layer x [ RMSNorm -> attention (Q, K, V,
 *          rotary position embedding, grouped-query heads, causal softmax)
 *          -> output projection -> residual; RMSNorm -> SwiGLU feed-forward
 *          -> residual ] -> RMSNorm -> output projection (logits).
 *          Rotary pairs are adjacent elements (i, i+1) ("normal" rope).
 *   qwen2  the same, plus biases on Q, K and V, and "NEOX" rope whose pairs
 *          are (i, i + rope_dim/2).
 *
 * In exact mode (llm_model_set_exact below) everything is computed in f32:
 * quantised weights (F16, BF16, Q8_0, Q4_0, the K-quants...) are
 * dequantised exactly, one row at a time, and the dot products accumulate in
 * f32, so results match llama.cpp's "exact dequant" references to about 1e-5
 * relative. The default fast mode follows llama.cpp's native numerics.
 *
 * Ownership: llm_model_load() keeps pointers INTO the gguf_t, which must
 * outlive the model. A model is read-only once loaded, so several states
 * (sequences, threads) may share it. A state is one sequence: its KV cache
 * and scratch; it must be used by one thread at a time. */
#ifndef COPYD_LLM_MODEL_H
#define COPYD_LLM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "llm/gguf.h"

typedef struct llm_config {
    char arch[16];        /* "llama" or "qwen2" */
    int n_layer;          /* {arch}.block_count */
    int n_embd;           /* {arch}.embedding_length */
    int n_head;           /* {arch}.attention.head_count */
    int n_head_kv;        /* {arch}.attention.head_count_kv, default n_head */
    int n_ff;             /* {arch}.feed_forward_length */
    int n_vocab;          /* rows of token_embd.weight */
    int n_ctx_train;      /* {arch}.context_length */
    int head_dim;         /* {arch}.attention.key_length, default n_embd / n_head */
    int rope_dim;         /* {arch}.rope.dimension_count, default head_dim;
                             only the first rope_dim elements of a head rotate */
    float rms_eps;        /* {arch}.attention.layer_norm_rms_epsilon, default 1e-5 */
    float rope_freq_base; /* {arch}.rope.freq_base, default 10000 */
    float rope_freq_scale;/* 1 / {arch}.rope.scaling.factor for linear scaling, else 1 */
    int rope_neox;        /* 1: pairs (i, i + rope_dim/2) (qwen2); 0: (i, i+1) */
    int has_qkv_bias;     /* attn_q/k/v.bias present (required for qwen2) */
    int tied_output;      /* no output.weight: logits use token_embd.weight */
} llm_config_t;

typedef struct llm_model llm_model_t;

/* Reads the configuration and finds every tensor. Checks the architecture
 * (llama or qwen2), the hyper-parameters (positive, consistent: n_head a
 * multiple of n_head_kv, rope_dim even and <= head_dim...), and that every
 * tensor exists with the expected shape and a type copyd can compute with.
 * On failure returns NULL and writes a message naming the key or tensor to
 * `err` ("tensor 'blk.1.ffn_up.weight' has shape [64, 100], expected
 * [64, 172]"). The model borrows `g`: close the gguf after llm_model_free. */
llm_model_t *llm_model_load(const gguf_t *g, char *err, size_t errsz);
const llm_config_t *llm_model_config(const llm_model_t *m);
void llm_model_free(llm_model_t *m);

typedef struct llm_state llm_state_t;  /* KV cache + scratch for one sequence */

/* A state holding up to n_ctx positions (n_ctx <= 0: the model's
 * n_ctx_train). The KV cache takes 2 * n_layer * n_ctx * n_head_kv *
 * head_dim floats. NULL when memory runs out or sizes overflow. */
llm_state_t *llm_state_new(const llm_model_t *m, int n_ctx);
void llm_state_free(llm_state_t *s);
/* Forgets the sequence: the next token goes to position 0. */
void llm_state_reset(llm_state_t *s);
/* Number of positions filled (the position the next token takes). */
int llm_state_pos(const llm_state_t *s);
/* Positions the state can hold. */
int llm_state_n_ctx(const llm_state_t *s);

/* Feeds `n` (>= 1) tokens at the current position, one after the other,
 * adding them to the KV cache. When `logits` != NULL writes the n_vocab
 * logits that follow the LAST token; when `all_logits` != NULL writes
 * n * n_vocab logits, those after each token in turn. Either may be NULL
 * (feeding a prompt needs logits only at its end).
 * Returns 0, or -1 without changing the state when n < 1, the context would
 * overflow (pos + n > n_ctx), or a token id is outside [0, n_vocab). The
 * model must be the one the state was made for. */
int llm_eval(const llm_model_t *m, llm_state_t *s, const int32_t *tokens, int n,
             float *logits, float *all_logits);

/* ---- speed: threads, exact mode, batches ------------------------------ */

/* Sets the number of threads every forward pass uses (the caller's thread
 * plus n - 1 workers of one process-wide, persistent pool; nothing is
 * created per token). n <= 0 picks the default: COPYD_THREADS when set,
 * else the number of online CPUs. Call it while no evaluation runs.
 * Returns the number of threads now in use. When two evaluations run at
 * once from different threads, the second runs on its caller's thread
 * alone rather than waiting for the pool. */
int llm_set_threads(int n);
/* The number of threads a forward pass uses now. */
int llm_threads(void);

/* Numerics. By default (exact = 0) matrix products take the fast path of
 * llama.cpp: activations are quantised on the fly to Q8_0 for Q8_0 and Q4_0
 * weights and multiplied in integers; other types use SIMD f32 sums whose
 * order differs from element order. Logits then differ from the exact
 * references by up to about 0.3 (Q4/Q8; llama.cpp "native" does the same)
 * or 1e-4 (F16/BF16/F32), and greedy tails may change where the top two
 * logits are that close. exact = 1 selects the reference path described at
 * the top of this file (exact dequantisation, f32 sums in element order),
 * still threaded, bit-identical to the single-threaded scalar engine. The
 * default of a loaded model is exact when the environment variable
 * COPYD_LLM_EXACT is "1". Set it before evaluating.
 * (Q4_K and Q6_K weights, too, take quantised activations in fast mode:
 * Q8_K, as llama.cpp does.) */
void llm_model_set_exact(llm_model_t *m, int exact);
int llm_model_exact(const llm_model_t *m);

/* One decoding step for n_seq (>= 1) sequences at once: token[i] is fed to
 * states[i] at that state's own position, and every weight matrix is read
 * once for all of them. `logits` (NULL allowed) receives n_seq * n_vocab
 * floats, sequence i at i * n_vocab. Returns 0, or -1 changing no state when
 * n_seq < 1, a state is NULL, made for another model, full, or listed
 * twice, or a token is outside [0, n_vocab). Each sequence gets the same
 * logits as llm_eval() of its token alone (up to float summation order). */
int llm_eval_batch(const llm_model_t *m, llm_state_t **states, const int32_t *tokens, int n_seq,
                   float *logits);

/* Makes dst continue the sequence of src: copies src's KV cache up to its
 * position, and the position (prompt-prefix sharing: evaluate a common
 * prefix once, copy it into several states). Both states must belong to
 * the same model and dst must hold src's positions. 0, or -1 (dst
 * unchanged). dst == src is a no-op. */
int llm_state_copy(llm_state_t *dst, const llm_state_t *src);

#endif
