/* tokenizer.h -- text <-> token ids for the local LLM engine.
 *
 * Two tokenizer families are supported, chosen by the GGUF key
 * tokenizer.ggml.model, and both reproduce llama.cpp token for token
 * (llama.cpp's test-tokenizer-0 vectors are the reference; see
 * tests/unit/test_tokenizer.c):
 *
 *   "llama"  SentencePiece (SPM): spaces become U+2581, a U+2581 is
 *            prepended to every text run that follows the start or a
 *            special token (tokenizer.ggml.add_space_prefix, default on),
 *            adjacent pieces are merged best-score-first, and characters
 *            with no token fall back to <0xNN> byte tokens.
 *   "gpt2"   byte-level BPE: the text is split by the pre-tokenizer that
 *            tokenizer.ggml.pre names (regexes run with PCRE2, several in
 *            succession where llama.cpp does so), each piece's bytes are
 *            mapped through the GPT-2 byte->code point table, and pieces are
 *            merged lowest-rank-first using tokenizer.ggml.merges.
 *            Supported pre names: default (also used when the key is
 *            absent, as llama.cpp does), gpt-2, mpt, olmo, jais, llama3,
 *            llama-v3, llama-bpe, falcon3, dbrx, smaug-bpe, qwen2,
 *            deepseek-r1-qwen, stablelm2, megrez, deepseek-llm,
 *            deepseek-coder, falcon, starcoder, refact, smollm, command-r,
 *            codeshell, exaone, minerva-7b. Anything else is refused.
 *
 * Special tokens. Control tokens (token_type 3) and unknown tokens (2) are
 * recognised in the input only when parse_special is set; user-defined
 * tokens (4) are always cut out first (as llama.cpp and HF do). Longer
 * special texts win over shorter ones.
 *
 * Input is arbitrary bytes: malformed UTF-8 is never an error. SPM turns the
 * bytes of characters it has no token for into byte tokens; BPE reads such
 * bytes as U+FFFD, exactly as llama.cpp does.
 *
 * Threads: a loaded tokenizer is immutable; any number of threads may
 * encode and decode with it at once (each call allocates its own scratch).
 *
 * Ownership: tokenizer_load() copies everything it needs out of the gguf_t;
 * the caller may gguf_close() right after. tokenizer_encode() returns ids
 * in a malloc'd array that the caller frees. */
#ifndef COPYD_LLM_TOKENIZER_H
#define COPYD_LLM_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "llm/gguf.h"

typedef struct tokenizer tokenizer_t;

/* Builds a tokenizer from the tokenizer.ggml.* keys of g. Returns NULL and a
 * message in err (e.g. "tokenizer.ggml.model 'bert' is not supported") when
 * the vocabulary is missing, inconsistent or of an unsupported kind. */
tokenizer_t *tokenizer_load(const gguf_t *g, char *err, size_t errsz);

/* Builds a byte-level BPE tokenizer from Hugging Face / GPT-2 style files:
 * encoder_json maps token text to id (ids must be 0..n-1), merges_txt has
 * one "left right" merge per line, ranked by order. A first line starting
 * with "#version" is skipped; other lines starting with '#' are real merges.
 * specials[0..n_specials) are appended as control tokens with ids n, n+1,
 * ...; the first becomes BOS and the second EOS. pre is a pre-tokenizer
 * name as above (e.g. "llama-bpe"). Meant for tests and tools: copyd itself
 * loads GGUF files. */
tokenizer_t *tokenizer_from_bpe_files(const char *encoder_json, const char *merges_txt, const char *pre,
                                      const char *const *specials, size_t n_specials, char *err,
                                      size_t errsz);

void tokenizer_free(tokenizer_t *t);

/* Tokenizes text[0..len). add_special: add BOS/EOS as the vocabulary says
 * (tokenizer.ggml.add_bos_token / add_eos_token; SPM defaults to BOS only,
 * BPE to none except Llama 3 style vocabularies, which add BOS).
 * parse_special: recognise control-token text such as "<|im_start|>".
 * On success *ids is a malloc'd array of *n ids (non-NULL even when *n is
 * 0) and 0 is returned; -1 only when memory runs out or the text is longer
 * than TOKENIZER_MAX_TEXT (*ids = NULL, *n = 0).
 * `copyd tokenize` uses add_special=0, parse_special=0, like llama.cpp's
 * test-tokenizer-0. */
#define TOKENIZER_MAX_TEXT ((size_t)1 << 30)
int tokenizer_encode(const tokenizer_t *t, const char *text, size_t len, int add_special, int parse_special,
                     int32_t **ids, size_t *n);

/* The bytes that token `id` stands for, as they appear in text: SPM maps
 * U+2581 to ' ' and <0xNN> byte tokens to the byte; BPE maps the byte-level
 * code points back to bytes; user-defined tokens give their text; control
 * and unknown tokens give their text only when render_special is set, else
 * nothing. Writes at most outsz bytes (no NUL) and returns the piece's full
 * length, which may exceed outsz (call again with a bigger buffer). An id
 * out of range gives 0. A piece need not be valid UTF-8 on its own. */
size_t tokenizer_piece(const tokenizer_t *t, int32_t id, int render_special, char *out, size_t outsz);

/* Length of the longest piece any token can produce (for sizing buffers). */
size_t tokenizer_max_piece(const tokenizer_t *t);

/* Streaming detokenisation that never cuts a UTF-8 character: bytes of an
 * incomplete character are held back until the next token completes it.
 * Output is always valid UTF-8: malformed bytes (which byte tokens can
 * produce) come out as U+FFFD. Control tokens are not rendered.
 *
 * `first`: detok_init() sets it; while set, one leading space is dropped
 * from the first non-empty piece when the vocabulary adds a space prefix
 * (SPM), which is how llama.cpp's llama_detokenize() and llama2.c print a
 * prompt. A caller streaming the continuation of a prompt clears it after
 * detok_init().
 *
 * detok_push() writes the bytes now complete into out and returns their
 * count. out must hold tokenizer_max_piece(t) + 16 bytes; with less, the
 * output is cut at a character boundary and the rest is lost.
 * detok_flush() ends the stream: pending bytes of an unfinished character
 * come out as one U+FFFD (3 bytes; outsz >= 3) and are cleared; `first` is
 * left as it is. */
typedef struct detok {
    char pending[8];
    int npending;
    int first;
} detok_t;

void detok_init(detok_t *d);
size_t detok_push(const tokenizer_t *t, detok_t *d, int32_t id, char *out, size_t outsz);
size_t detok_flush(detok_t *d, char *out, size_t outsz);

/* Special ids, -1 when the vocabulary has none. */
int32_t tokenizer_bos(const tokenizer_t *t);
int32_t tokenizer_eos(const tokenizer_t *t);
/* Whether generation should stop at id: EOS, EOT, EOM and the tokens
 * llama.cpp recognises by text (<|eot_id|>, <|im_end|>, <|end|>,
 * <|endoftext|>, <end_of_turn>, <|end_of_text|>, ...). */
int tokenizer_is_eog(const tokenizer_t *t, int32_t id);
size_t tokenizer_n_vocab(const tokenizer_t *t);
/* The id whose token text is exactly piece[0..len) (raw vocabulary text:
 * U+2581 for SPM spaces, byte-level code points for BPE), or -1. When a
 * vocabulary lists a text twice, the later id wins (as in llama.cpp). */
int32_t tokenizer_find(const tokenizer_t *t, const char *piece, size_t len);
/* "llama" (SPM) or "gpt2" (BPE). */
const char *tokenizer_model_name(const tokenizer_t *t);
/* tokenizer.ggml.pre as given in the file; when absent, "default" for BPE
 * and "" for SPM (which has no pre-tokenizer). */
const char *tokenizer_pre_name(const tokenizer_t *t);

#endif
