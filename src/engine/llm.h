/* llm.h -- the local LLM engine: copy written by a GGUF model run by our
 * own inference (src/llm/), checked by the same rules and platform limits
 * as the template engine.
 *
 * Per brief: a prompt is built from the brief (in the model's chat
 * template when it has one, else as a plain completion prompt); each
 * variant is sampled with its own seed (temperature widened by
 * creativity_level) under a logit mask that bans tokens which would break
 * a restriction outright (emojis, '#', '!', currency and price words,
 * single-token banned words); the text is parsed into headline, text,
 * hashtags and call to action; missing key points are appended as a list.
 * A variant that still breaks a rule or a limit is sampled again (up to
 * LLM_ENGINE_ATTEMPTS times); if it cannot be fixed the item fails as
 * ENGINE_ERR_UNAVAILABLE so the registry hands it to the next engine of the
 * fallback order (the template engine by default).
 *
 * A model that cannot be loaded still yields an engine: it reports not
 * ready, with the reason, and the server goes on with the other engines. */
#ifndef COPYD_ENGINE_LLM_H
#define COPYD_ENGINE_LLM_H

#include "engine/engine.h"

#define LLM_ENGINE_ATTEMPTS 3

typedef struct llm_engine_options {
    const char *model_path;      /* GGUF file */
    const char *languages;       /* "en" or "en,es": what the model writes */
    int max_tokens;              /* per variant */
    const char *chat_template;   /* force a template by name; NULL/"" = from the file */
    const char *template_data;   /* data/ folder: platform limits, rules, tips */
} llm_engine_options_t;

/* Never NULL except when out of memory. */
engine_t *llm_engine_create(const llm_engine_options_t *opt);

#endif
