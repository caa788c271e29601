#include "engine/llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "copy/finish.h"
#include "copy/text.h"
#include "core/buf.h"
#include "core/util.h"
#include "llm/chat.h"
#include "llm/gguf.h"
#include "llm/model.h"
#include "llm/sample.h"
#include "llm/tokenizer.h"

#define LLM_MAX_LANGS 20
#define LLM_MAX_VARIANTS 20
#define LLM_MAX_TAGS 30

typedef struct llm_impl {
    gguf_t *g;
    tokenizer_t *tok;
    llm_model_t *model;
    copy_data_t *copy;
    int ready;
    char reason[384];
    char model_name[128];
    const char *models[2];
    char langs_buf[LLM_MAX_LANGS][4];
    const char *langs[LLM_MAX_LANGS + 1];
    int max_tokens;
    int has_chat;
    llm_chat_kind_t chat;
} llm_impl_t;

/* ---- prompt ------------------------------------------------------------ */

static void list_line(buf_t *b, const char *label, const str_list_t *l) {
    if (!l->n) return;
    buf_puts(b, label);
    for (size_t i = 0; i < l->n; i++) {
        buf_puts(b, i ? "; " : " ");
        buf_puts(b, l->items[i]);
    }
    buf_putc(b, '\n');
}

static void build_prompt(const llm_impl_t *m, const brief_t *b, buf_t *out) {
    buf_t user = BUF_INIT;
    buf_printf(&user, "Write a %s %s ad in language '%s' for: %s\n", tone_name(b->tone), platform_name(b->platform),
               b->language, b->product_description);
    if (b->target_audience) buf_printf(&user, "Audience: %s\n", b->target_audience);
    list_line(&user, "Key points:", &b->key_points);
    list_line(&user, "Features:", &b->features_to_highlight);
    list_line(&user, "Keywords:", &b->keywords);
    list_line(&user, "Restrictions:", &b->restrictions);
    if (b->call_to_action) buf_printf(&user, "Call to action: %s\n", b->call_to_action);
    if (b->instructions) buf_printf(&user, "Instructions: %s\n", b->instructions);
    buf_puts(&user, "First line: a headline. Then the text.");
    char err[128];
    if (m->has_chat &&
        llm_chat_render(m->chat, "You are an expert copywriter.", user.p, NULL, out, err, sizeof err) == 0) {
        buf_free(&user);
        return;
    }
    /* A base model continues text: give it the product to write about. */
    buf_reset(out);
    buf_puts(out, b->product_description);
    buf_puts(out, ". ");
    buf_free(&user);
}

/* ---- the logit mask ------------------------------------------------------ */

static int has_currency(const char *s, size_t n) {
    static const char *const signs[] = {"$", "%", "\xe2\x82\xac", "\xc2\xa3", "\xc2\xa5", NULL}; /* $ % € £ ¥ */
    for (const char *const *k = signs; *k; k++)
        if (memmem(s, n, *k, strlen(*k))) return 1;
    return 0;
}

/* Bans the tokens that would break a rule by themselves. Words spread over
 * several tokens are left to the final check. */
static void build_mask(const llm_impl_t *m, const ruleset_t *rs, llm_mask_t *mask) {
    size_t nv = tokenizer_n_vocab(m->tok);
    char piece[256], folded[800];
    for (size_t id = 0; id < nv; id++) {
        size_t len = tokenizer_piece(m->tok, (int32_t)id, 0, piece, sizeof piece - 1);
        if (len == 0 || len >= sizeof piece) continue;
        piece[len] = '\0';
        int ban = (rs->no_emoji && text_has_emoji(piece, len)) || (rs->no_hashtags && memchr(piece, '#', len)) ||
                  (rs->no_exclamation && memchr(piece, '!', len)) ||
                  (rs->no_price && (has_currency(piece, len) || (rs->lang && rules_has_price(rs->lang, piece, len))));
        if (!ban && rs->n_banned) {
            size_t start = 0;
            while (start < len && piece[start] == ' ') start++;
            size_t fl = text_normalize(piece + start, len - start, folded);
            for (size_t r = 0; fl && r < rs->n; r++)
                if (rs->rules[r].kind == RULE_BANNED_WORD && strcmp(rs->rules[r].folded, folded) == 0) ban = 1;
        }
        if (ban) llm_mask_ban(mask, (int)id);
    }
}

/* ---- parsing the model's text ------------------------------------------- */

static void trim(char *s) {
    size_t n = strlen(s), a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r')) a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

/* Cuts s to at most max code points, at a word boundary when there is one. */
static void clip(char *s, long max) {
    if (max <= 0) return;
    size_t n = strlen(s);
    size_t bytes = utf8_prefix_bytes(s, n, (size_t)max);
    if (bytes >= n) return;
    size_t cut = bytes;
    while (cut > 0 && s[cut] != ' ') cut--;
    if (cut == 0) cut = bytes;
    s[cut] = '\0';
    trim(s);
}

typedef struct parsed {
    char headline[512];
    buf_t text;
    char *tags[LLM_MAX_TAGS];
    size_t ntags;
} parsed_t;

static void parse_output(const char *raw, const brief_t *b, const pb_platform_t *P, const ruleset_t *rs,
                         parsed_t *p) {
    buf_t body = BUF_INIT;
    /* hashtags out of the text, kept when the platform takes them */
    int tags_ok = P->hashtags_max > 0 && !rs->no_hashtags;
    for (const char *s = raw; *s;) {
        if (*s == '#' && (s == raw || s[-1] == ' ' || s[-1] == '\n')) {
            size_t k = 1;
            while (s[k] && s[k] != ' ' && s[k] != '\n' && s[k] != ',' && s[k] != '.') k++;
            if (k > 1 && tags_ok && p->ntags < LLM_MAX_TAGS && (long)p->ntags < P->hashtags_max)
                p->tags[p->ntags++] = strndup(s, k);
            s += k;
            continue;
        }
        buf_putc(&body, *s++);
    }
    char *text = body.p ? body.p : strdup("");
    if (!body.p) body.p = text;
    trim(text);
    /* headline: the first line, else the first sentence */
    size_t hl = strcspn(text, "\n");
    if (!text[hl]) {
        hl = strcspn(text, ".!?");
        if (text[hl]) hl++;
    }
    snprintf(p->headline, sizeof p->headline, "%.*s", (int)(hl < sizeof p->headline - 1 ? hl : sizeof p->headline - 1),
             text);
    trim(p->headline);
    const char *rest = text + hl;
    buf_puts(&p->text, rest);
    if (p->text.p) trim(p->text.p), p->text.len = strlen(p->text.p);
    if (!p->text.len) buf_puts(&p->text, p->headline);
    /* key points the model left out are added as a list */
    for (size_t i = 0; i < b->key_points.n; i++) {
        const char *kp = b->key_points.items[i];
        if (text_has_word(p->text.p, p->text.len, kp, 0, 0) || text_has_word(p->headline, strlen(p->headline), kp, 0, 0))
            continue;
        buf_puts(&p->text, "\n- ");
        buf_puts(&p->text, kp);
    }
    if (P->headline_max) clip(p->headline, P->headline_max);
    long text_max = P->text_max;
    if (b->max_length > 0 && (text_max == 0 || b->max_length < text_max)) text_max = b->max_length;
    if (text_max && p->text.p) clip(p->text.p, text_max), p->text.len = strlen(p->text.p);
    buf_free(&body);
}

static void parsed_free(parsed_t *p) {
    buf_free(&p->text);
    for (size_t i = 0; i < p->ntags; i++) free(p->tags[i]);
    p->ntags = 0;
}

/* ---- generation ------------------------------------------------------------ */

/* Samples one continuation of the prompt into `out`. Returns tokens made. */
static unsigned sample_text(const llm_impl_t *m, const int32_t *prompt, size_t np, uint64_t seed, float temperature,
                            int max_tokens, const llm_mask_t *mask, buf_t *out) {
    const llm_config_t *c = llm_model_config(m->model);
    int n_ctx = (int)np + max_tokens;
    if (c->n_ctx_train > 0 && n_ctx > c->n_ctx_train) n_ctx = c->n_ctx_train;
    if ((int)np >= n_ctx) return 0;
    llm_sample_params_t sp;
    llm_sample_params_default(&sp);
    sp.temperature = temperature;
    sp.seed = seed;
    llm_state_t *st = llm_state_new(m->model, n_ctx);
    llm_sampler_t *smp = llm_sampler_new(c->n_vocab, &sp);
    float *logits = malloc(sizeof(float) * (size_t)c->n_vocab);
    int32_t *hist = malloc(sizeof(int32_t) * (size_t)(n_ctx + 1));
    unsigned made = 0;
    if (st && smp && logits && hist && llm_eval(m->model, st, prompt, (int)np, logits, NULL) == 0) {
        memcpy(hist, prompt, np * sizeof *hist);
        int nh = (int)np;
        detok_t dt;
        detok_init(&dt);
        dt.first = 0;
        char piece[512];
        while ((int)made < max_tokens && nh < n_ctx) {
            int id = llm_sampler_sample(smp, logits, hist, nh, mask);
            if (id < 0 || tokenizer_is_eog(m->tok, id)) break;
            hist[nh++] = id;
            made++;
            buf_append(out, piece, detok_push(m->tok, &dt, id, piece, sizeof piece));
            if (out->len >= 2 && strstr(out->p, "\n\n\n")) break;
            if (nh >= n_ctx || llm_eval(m->model, st, &hist[nh - 1], 1, logits, NULL) < 0) break;
        }
        buf_append(out, piece, detok_flush(&dt, piece, sizeof piece));
    }
    free(hist);
    free(logits);
    llm_sampler_free(smp);
    llm_state_free(st);
    return made;
}

static void generate_one(llm_impl_t *m, engine_item_t *it) {
    const brief_t *b = it->brief;
    double t0 = now_mono();
    ruleset_t *rs = malloc(sizeof *rs);
    llm_mask_t mask;
    int mask_ok = 0;
    buf_t prompt = BUF_INIT;
    int32_t *ids = NULL;
    size_t nids = 0;
    int nvar = b->max_variants > 0 && b->max_variants <= LLM_MAX_VARIANTS ? b->max_variants : 5;
    parsed_t *pv = calloc((size_t)nvar, sizeof *pv);
    copy_variant_in_t *vin = calloc((size_t)nvar, sizeof *vin);
    unsigned tokens = 0;
    if (!rs || !pv || !vin) goto oom;
    copy_rules_for(m->copy, b, rs);
    if (llm_mask_init(&mask, (int)tokenizer_n_vocab(m->tok)) < 0) goto oom;
    mask_ok = 1;
    build_mask(m, rs, &mask);
    build_prompt(m, b, &prompt);
    if (tokenizer_encode(m->tok, prompt.p ? prompt.p : "", prompt.len, 1, m->has_chat, &ids, &nids) < 0 || !nids) {
        it->status = ENGINE_ERR_INTERNAL;
        snprintf(it->err_message, sizeof it->err_message, "could not tokenize the prompt");
        goto out;
    }
    char key[BRIEF_KEY_LEN];
    brief_cache_key(b, "llm", m->model_name, key);
    uint64_t base_seed = XXH3_64bits(key, strlen(key));
    float temperature = 0.5f + 0.7f * (float)b->creativity;
    const pb_platform_t *P = &m->copy->platforms[b->platform];
    for (int v = 0; v < nvar; v++) {
        rule_violation_t viol[8];
        size_t nviol = 1;
        for (int attempt = 0; attempt < LLM_ENGINE_ATTEMPTS && nviol; attempt++) {
            parsed_free(&pv[v]);
            buf_free(&pv[v].text);
            memset(&pv[v], 0, sizeof pv[v]);
            buf_t raw = BUF_INIT;
            tokens += sample_text(m, ids, nids, base_seed + (uint64_t)(v * 7919 + attempt), temperature, m->max_tokens,
                                  &mask, &raw);
            parse_output(raw.p ? raw.p : "", b, P, rs, &pv[v]);
            buf_free(&raw);
            vin[v].headline = pv[v].headline;
            vin[v].primary_text = pv[v].text.p ? pv[v].text.p : "";
            vin[v].call_to_action = b->call_to_action ? b->call_to_action : "";
            vin[v].hashtags = (const char *const *)pv[v].tags;
            vin[v].n_hashtags = pv[v].ntags;
            nviol = copy_check(m->copy, b, rs, &vin[v], viol, 8);
        }
        if (nviol) {
            it->status = ENGINE_ERR_UNAVAILABLE;
            snprintf(it->err_message, sizeof it->err_message,
                     "the model's variant %d broke the brief's rules after %d attempts: %.150s", v + 1,
                     LLM_ENGINE_ATTEMPTS, viol[0].detail);
            goto out;
        }
    }
    {
        buf_t out = BUF_INIT;
        const char *keys[] = {"model_file"}, *vals[] = {m->model_name};
        copy_finish_info_t info = {.engine = "llm", .model = m->model_name, .id_prefix = "llm",
                                   .generation_seconds = now_mono() - t0, .tokens = tokens,
                                   .extra_keys = keys, .extra_values = vals, .n_extra = 1};
        if (copy_finish(m->copy, b, vin, (size_t)nvar, &info, &out) < 0) {
            buf_free(&out);
            goto oom;
        }
        it->output = buf_detach(&out, &it->output_len);
        it->tokens = tokens;
        it->status = it->output ? ENGINE_OK : ENGINE_ERR_INTERNAL;
    }
    goto out;
oom:
    it->status = ENGINE_ERR_INTERNAL;
    snprintf(it->err_message, sizeof it->err_message, "out of memory");
out:
    for (int v = 0; pv && v < nvar; v++) parsed_free(&pv[v]), buf_free(&pv[v].text);
    free(pv);
    free(vin);
    free(ids);
    buf_free(&prompt);
    if (mask_ok) llm_mask_free(&mask);
    free(rs);
}

/* ---- engine interface ---------------------------------------------------- */

static int llm_ready(engine_t *e, char *why, size_t whysz) {
    llm_impl_t *m = e->impl;
    if (!m->ready) snprintf(why, whysz, "%s", m->reason);
    return m->ready;
}

static void llm_generate(engine_t *e, engine_item_t *items, size_t n) {
    llm_impl_t *m = e->impl;
    for (size_t i = 0; i < n; i++) {
        if (!m->ready) {
            items[i].status = ENGINE_ERR_UNAVAILABLE;
            snprintf(items[i].err_message, sizeof items[i].err_message, "%.250s", m->reason);
            continue;
        }
        if (!engine_speaks(e, items[i].brief->language)) {
            char langs[128];
            engine_language_list(e, langs, sizeof langs);
            items[i].status = ENGINE_ERR_LANGUAGE;
            snprintf(items[i].err_field, sizeof items[i].err_field, "language");
            snprintf(items[i].err_message, sizeof items[i].err_message,
                     "engine 'llm' cannot write language '%s'; it writes: %s", items[i].brief->language, langs);
            continue;
        }
        generate_one(m, &items[i]);
    }
}

static void llm_destroy(engine_t *e) {
    llm_impl_t *m = e->impl;
    llm_model_free(m->model);
    tokenizer_free(m->tok);
    gguf_close(m->g);
    copy_data_free(m->copy);
    free(m);
    free(e);
}

engine_t *llm_engine_create(const llm_engine_options_t *opt) {
    engine_t *e = calloc(1, sizeof *e);
    llm_impl_t *m = calloc(1, sizeof *m);
    if (!e || !m) {
        free(e);
        free(m);
        return NULL;
    }
    e->name = "llm";
    e->impl = m;
    e->ready = llm_ready;
    e->generate = llm_generate;
    e->destroy = llm_destroy;
    e->joins_batches = 1; /* concurrent requests share decode passes */
    e->models = m->models;
    e->languages = m->langs;
    m->max_tokens = opt->max_tokens > 0 ? opt->max_tokens : 96;
    const char *base = opt->model_path ? strrchr(opt->model_path, '/') : NULL;
    snprintf(m->model_name, sizeof m->model_name, "%s", base ? base + 1 : opt->model_path ? opt->model_path : "none");
    char *dot = strstr(m->model_name, ".gguf");
    if (dot && dot[5] == '\0') *dot = '\0';
    m->models[0] = m->model_name;
    /* languages */
    size_t nl = 0;
    const char *p = opt->languages && *opt->languages ? opt->languages : "en";
    while (*p && nl < LLM_MAX_LANGS) {
        while (*p == ',' || *p == ' ') p++;
        size_t k = strcspn(p, ", ");
        if (k && k < 4) {
            memcpy(m->langs_buf[nl], p, k);
            m->langs_buf[nl][k] = '\0';
            m->langs[nl] = m->langs_buf[nl];
            nl++;
        }
        p += k;
    }
    char err[256];
    if (!opt->model_path || !*opt->model_path) {
        snprintf(m->reason, sizeof m->reason, "no model file configured (COPYD_MODEL / --model)");
        return e;
    }
    m->copy = copy_data_load(opt->template_data, err, sizeof err);
    if (!m->copy) {
        snprintf(m->reason, sizeof m->reason, "copy data: %s", err);
        return e;
    }
    m->g = gguf_open(opt->model_path, GGUF_PROGRESS, err, sizeof err);
    if (!m->g) {
        snprintf(m->reason, sizeof m->reason, "model %s: %s", opt->model_path, err);
        return e;
    }
    m->tok = tokenizer_load(m->g, err, sizeof err);
    if (!m->tok) {
        snprintf(m->reason, sizeof m->reason, "model %s: tokenizer: %s", opt->model_path, err);
        return e;
    }
    m->model = llm_model_load(m->g, err, sizeof err);
    if (!m->model) {
        snprintf(m->reason, sizeof m->reason, "model %s: %s", opt->model_path, err);
        return e;
    }
    gguf_str_t t = {0};
    int has_tmpl = gguf_get_str(m->g, "tokenizer.chat_template", &t) == 0;
    if ((opt->chat_template && *opt->chat_template) || has_tmpl) {
        if (llm_chat_choose(opt->chat_template, t.p, (size_t)t.len, &m->chat, err, sizeof err) < 0) {
            snprintf(m->reason, sizeof m->reason, "model %s: chat template: %s (choose one with COPYD_CHAT_TEMPLATE)",
                     opt->model_path, err);
            return e;
        }
        m->has_chat = 1;
    }
    m->ready = 1;
    return e;
}
