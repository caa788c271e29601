/* synth.h -- synthetic GGUF models: real shapes, random weights.
 *
 * Benchmarks and tests need models of a real size (Qwen2-0.5B: 24 layers,
 * embedding 896, vocabulary 151936) without downloading one. This module
 * writes a complete, loadable GGUF v3 file (alignment 32) for the llama or
 * qwen2 architecture:
 *
 *   weights   Gaussian, from a seeded generator (same seed, same file).
 *             Scales keep the logits non-degenerate whatever the size (the
 *             recipe of /work/shared/models/README.txt section 3):
 *             standard deviation 1/sqrt(in) for q/k/v/gate/up, 4/sqrt(in)
 *             for attn_output and ffn_down, 0.2 for biases, norms
 *             1 + 0.1 x N(0,1), and 3/sqrt(n_embd) for token_embd and
 *             output, so that logits (a unit-RMS state times an embedding
 *             row) have a spread of about 3 at any width.
 *   types     matrices (token_embd, output, attention and feed-forward) in
 *             the chosen type, quantised with quant.h's quantize_row();
 *             norms and biases F32. qwen2 has no output.weight (the output
 *             is tied to token_embd, as in Qwen2.5-0.5B); llama has one.
 *   metadata  every key copyd's model loader and tokenizer read:
 *             general.architecture, {arch}.block_count, context_length,
 *             embedding_length, feed_forward_length, attention.head_count,
 *             attention.head_count_kv, attention.layer_norm_rms_epsilon,
 *             rope.freq_base, general.file_type, tokenizer.ggml.* and a
 *             ChatML tokenizer.chat_template.
 *   vocabulary  byte-level BPE (tokenizer.ggml.model "gpt2", pre "qwen2"
 *             for qwen2, "llama-bpe" for llama) of exactly n_vocab tokens:
 *             the 256 byte tokens in GPT-2's bytes_to_unicode order, then
 *             tokens learned by merges built from a small built-in English
 *             word list (" the", "the", " The", ... letter by letter), then
 *             word-pair concatenations until the size is reached, then the
 *             control tokens <|endoftext|> (BOS), <|im_start|>, <|im_end|>
 *             (EOS) as the last three ids. Any text round-trips.
 *
 * The file is written tensor by tensor, one row at a time (memory stays
 * bounded: the header plus a few rows), to "<path>.tmp", then renamed over
 * <path>; a failed write leaves no partial file behind. */
#ifndef COPYD_LLM_SYNTH_H
#define COPYD_LLM_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "llm/gguf.h"

typedef struct llm_synth_params {
    char arch[16];      /* "qwen2" or "llama" */
    int n_layer;
    int n_embd;
    int n_head;
    int n_head_kv;
    int n_ff;
    int n_vocab;        /* total tokens, specials included (>= 259) */
    int n_ctx;          /* {arch}.context_length */
    ggml_type_t type;   /* matrices: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
                           Q5_1, Q4_K or Q6_K */
    uint64_t seed;
    int progress;       /* draw a progress line on stderr when it is a terminal */
} llm_synth_params_t;

/* The defaults: a tiny qwen2 (2 layers, embedding 256, 4 heads, 2 kv heads,
 * ffn 512, 1000 tokens, context 256, Q8_0, seed 42). */
void llm_synth_params_default(llm_synth_params_t *p);

/* 0 when the shape can be written and loaded; else -1 and a message such
 * as "--embd 896 is not a multiple of 256, the block size of q4_K". */
int llm_synth_check(const llm_synth_params_t *p, char *err, size_t errsz);

/* Bytes the file will have (0 when llm_synth_check fails). */
uint64_t llm_synth_file_size(const llm_synth_params_t *p);

/* Writes the model to `path`. 0, or -1 with a message (bad shape, I/O
 * error, out of memory); on failure no file is left at path. */
int llm_synth_write(const llm_synth_params_t *p, const char *path, char *err, size_t errsz);

/* `copyd model synth --arch qwen2|llama --layers L --embd E --heads H
 * --kv-heads K --ff F --vocab V --ctx C --type T --out FILE [--seed S]`.
 * argv as for main: argv[1] = "model", argv[2] = "synth". Returns the exit
 * status (0 ok, 1 failure, 2 bad usage). */
int llm_cmd_synth(int argc, char **argv);

#endif
