/* chat.h -- turning a system + user message into an instruct model's prompt.
 *
 * A GGUF chat model carries its prompt format as a Jinja template under
 * tokenizer.chat_template. copyd does not run Jinja: it recognises the
 * handful of formats the supported models use by their distinctive markers
 * and renders them itself:
 *
 *   chatml   "<|im_start|>"            (Qwen2, SmolLM, many fine-tunes)
 *            <|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nUSER<|im_end|>\n<|im_start|>assistant\n
 *   llama3   "<|start_header_id|>"     (Llama 3.x)
 *            <|start_header_id|>system<|end_header_id|>\n\nSYS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nUSER<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n
 *   zephyr   "<|user|>"                (Zephyr, TinyLlama-Chat)
 *            <|system|>\nSYS</s>\n<|user|>\nUSER</s>\n<|assistant|>\n
 *   llama2   "[INST]" and "<<SYS>>"    (Llama 2 chat)
 *            [INST] <<SYS>>\nSYS\n<</SYS>>\n\nUSER [/INST]
 *   mistral  "[INST]" without "<<SYS>>" (Mistral instruct; no system role,
 *            so the system text leads the user turn)
 *            [INST] SYS\n\nUSER [/INST]
 *
 * With no (or an empty) system message its part is left out. The BOS token
 * is NOT written: the tokenizer adds it (add_bos), as for any prompt. The
 * special markers are written as text, so the tokenizer must be asked to
 * parse special tokens. The zephyr end-of-turn is the model's EOS text,
 * "</s>" unless the caller passes another. */
#ifndef COPYD_LLM_CHAT_H
#define COPYD_LLM_CHAT_H

#include <stddef.h>

#include "core/buf.h"

typedef enum {
    LLM_CHAT_UNKNOWN = 0,
    LLM_CHAT_CHATML,
    LLM_CHAT_LLAMA2,
    LLM_CHAT_LLAMA3,
    LLM_CHAT_ZEPHYR,
    LLM_CHAT_MISTRAL
} llm_chat_kind_t;

/* The format a Jinja template uses (`len` bytes, not NUL-terminated), or
 * LLM_CHAT_UNKNOWN. */
llm_chat_kind_t llm_chat_detect(const char *tmpl, size_t len);
/* "chatml", "llama2", "llama3", "zephyr", "mistral" (case-insensitive);
 * LLM_CHAT_UNKNOWN for any other name. */
llm_chat_kind_t llm_chat_from_name(const char *name);
/* The name above; "unknown" for LLM_CHAT_UNKNOWN. */
const char *llm_chat_name(llm_chat_kind_t k);

/* Picks the format: `force` (a name, may be NULL or "") wins; otherwise the
 * template is recognised. 0, or -1 with a message in `err` (unknown name,
 * no template, unrecognised template). */
int llm_chat_choose(const char *force, const char *tmpl, size_t tmpl_len, llm_chat_kind_t *out,
                    char *err, size_t errsz);

/* Appends the prompt for `system` (may be NULL) and `user` followed by the
 * assistant's opening to `out`. `eos` is the zephyr end-of-turn text (NULL:
 * "</s>"). 0, or -1 with a message (unknown kind, NULL user, out of
 * memory). */
int llm_chat_render(llm_chat_kind_t k, const char *system, const char *user, const char *eos,
                    buf_t *out, char *err, size_t errsz);

#endif
