/* chat.c -- chat prompt formats (see chat.h). */
#include "llm/chat.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {"unknown", "chatml", "llama2", "llama3", "zephyr", "mistral"};

static int has(const char *t, size_t len, const char *marker) {
    return memmem(t, len, marker, strlen(marker)) != NULL;
}

llm_chat_kind_t llm_chat_detect(const char *t, size_t len) {
    if (!t || len == 0) return LLM_CHAT_UNKNOWN;
    /* Most specific markers first: a ChatML or Llama 3 template never holds
     * [INST], but a Mistral one may mention other formats' words. */
    if (has(t, len, "<|im_start|>")) return LLM_CHAT_CHATML;
    if (has(t, len, "<|start_header_id|>")) return LLM_CHAT_LLAMA3;
    /* Phi-3 uses the same role markers but ends turns with <|end|>: a
     * different format, not supported. */
    if (has(t, len, "<|user|>") && has(t, len, "<|assistant|>") && !has(t, len, "<|end|>"))
        return LLM_CHAT_ZEPHYR;
    if (has(t, len, "[INST]")) return has(t, len, "<<SYS>>") ? LLM_CHAT_LLAMA2 : LLM_CHAT_MISTRAL;
    return LLM_CHAT_UNKNOWN;
}

llm_chat_kind_t llm_chat_from_name(const char *name) {
    if (!name) return LLM_CHAT_UNKNOWN;
    for (int k = LLM_CHAT_CHATML; k <= LLM_CHAT_MISTRAL; k++)
        if (strcasecmp(name, kind_names[k]) == 0) return (llm_chat_kind_t)k;
    return LLM_CHAT_UNKNOWN;
}

const char *llm_chat_name(llm_chat_kind_t k) {
    if ((int)k < 0 || k > LLM_CHAT_MISTRAL) return kind_names[0];
    return kind_names[k];
}

int llm_chat_choose(const char *force, const char *tmpl, size_t tmpl_len, llm_chat_kind_t *out,
                    char *err, size_t errsz) {
    if (force && force[0]) {
        *out = llm_chat_from_name(force);
        if (*out == LLM_CHAT_UNKNOWN) {
            snprintf(err, errsz, "unknown chat format '%.64s' (known: chatml, llama2, llama3, zephyr, mistral)",
                     force);
            return -1;
        }
        return 0;
    }
    if (!tmpl || tmpl_len == 0) {
        snprintf(err, errsz, "the model has no tokenizer.chat_template; name a chat format "
                             "(chatml, llama2, llama3, zephyr, mistral)");
        return -1;
    }
    *out = llm_chat_detect(tmpl, tmpl_len);
    if (*out == LLM_CHAT_UNKNOWN) {
        /* the template is not NUL-terminated: print at most its length */
        int shown = tmpl_len < 40 ? (int)tmpl_len : 40;
        snprintf(err, errsz, "unrecognised tokenizer.chat_template (%zu bytes, begins \"%.*s\"); name a chat "
                             "format (chatml, llama2, llama3, zephyr, mistral)",
                 tmpl_len, shown, tmpl);
        return -1;
    }
    return 0;
}

int llm_chat_render(llm_chat_kind_t k, const char *system, const char *user, const char *eos, buf_t *out,
                    char *err, size_t errsz) {
    if (!user) {
        snprintf(err, errsz, "no user message");
        return -1;
    }
    int sys = system && system[0];
    if (!eos) eos = "</s>";
    switch (k) {
    case LLM_CHAT_CHATML:
        if (sys) buf_printf(out, "<|im_start|>system\n%s<|im_end|>\n", system);
        buf_printf(out, "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n", user);
        break;
    case LLM_CHAT_LLAMA3:
        if (sys) buf_printf(out, "<|start_header_id|>system<|end_header_id|>\n\n%s<|eot_id|>", system);
        buf_printf(out,
                   "<|start_header_id|>user<|end_header_id|>\n\n%s<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n",
                   user);
        break;
    case LLM_CHAT_ZEPHYR:
        if (sys) buf_printf(out, "<|system|>\n%s%s\n", system, eos);
        buf_printf(out, "<|user|>\n%s%s\n<|assistant|>\n", user, eos);
        break;
    case LLM_CHAT_LLAMA2:
        if (sys) buf_printf(out, "[INST] <<SYS>>\n%s\n<</SYS>>\n\n%s [/INST]", system, user);
        else buf_printf(out, "[INST] %s [/INST]", user);
        break;
    case LLM_CHAT_MISTRAL:
        if (sys) buf_printf(out, "[INST] %s\n\n%s [/INST]", system, user);
        else buf_printf(out, "[INST] %s [/INST]", user);
        break;
    default:
        snprintf(err, errsz, "unknown chat format");
        return -1;
    }
    if (out->oom) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    return 0;
}
