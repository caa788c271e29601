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

/* One variant being written: its own KV state (a copy of its brief's
 * prefilled prompt), sampler, text so far and last logits. */
typedef struct seq {
    struct job *job;
    int variant;
    llm_state_t *st;
    llm_sampler_t *smp;
    float *logits;
    int32_t *hist;
    int nh, made, done;
    detok_t dt;
    buf_t text;
} seq_t;

/* One brief: its rules, mask, prompt and variants. */
typedef struct job {
    engine_item_t *item;
    ruleset_t rs;
    llm_mask_t mask;
    int mask_ok;
    int32_t *prompt;
    size_t np;
    llm_state_t *base;   /* the prompt, evaluated once */
    float *base_logits;
    int n_ctx, nvar;
    uint64_t seed;
    float temperature;
    parsed_t *pv;
    copy_variant_in_t *vin;
    int *ok;             /* variant passed the checks */
    unsigned tokens;
    int failed;
    char why[200];
    /* scheduling (run_feed) */
    struct req *req;     /* the request it belongs to */
    int attempt;         /* round of sampling: 0, then retries of failed variants */
    int live;            /* sequences of this round still decoding */
    size_t prefilled;    /* prompt tokens evaluated into `base` so far */
    struct job *next_pending; /* the queue of briefs still prefilling */
    double t0;           /* admitted at */
} job_t;

static void seq_free(seq_t *q) {
    llm_state_free(q->st);
    llm_sampler_free(q->smp);
    free(q->logits);
    free(q->hist);
    buf_free(&q->text);
    memset(q, 0, sizeof *q);
}

/* Prepares a brief: rules, mask, prompt, prompt prefilled once. */
static int job_prepare(llm_impl_t *m, job_t *j) {
    const brief_t *b = j->item->brief;
    const llm_config_t *c = llm_model_config(m->model);
    copy_rules_for(m->copy, b, &j->rs);
    if (llm_mask_init(&j->mask, (int)tokenizer_n_vocab(m->tok)) < 0) return -1;
    j->mask_ok = 1;
    build_mask(m, &j->rs, &j->mask);
    buf_t prompt = BUF_INIT;
    build_prompt(m, b, &prompt);
    int rc = tokenizer_encode(m->tok, prompt.p ? prompt.p : "", prompt.len, 1, m->has_chat, &j->prompt, &j->np);
    buf_free(&prompt);
    if (rc < 0 || j->np == 0) {
        snprintf(j->why, sizeof j->why, "could not tokenize the prompt");
        return -1;
    }
    j->n_ctx = (int)j->np + m->max_tokens;
    if (c->n_ctx_train > 0 && j->n_ctx > c->n_ctx_train) j->n_ctx = c->n_ctx_train;
    if ((int)j->np >= j->n_ctx) {
        snprintf(j->why, sizeof j->why, "the prompt (%zu tokens) fills the model's context", j->np);
        return -1;
    }
    j->base = llm_state_new(m->model, j->n_ctx);
    j->base_logits = malloc(sizeof(float) * (size_t)c->n_vocab);
    if (!j->base || !j->base_logits) return -1;
    /* the prompt itself is evaluated by job_prefill(), in chunks */
    char key[BRIEF_KEY_LEN];
    brief_cache_key(b, "llm", m->model_name, key);
    j->seed = XXH3_64bits(key, strlen(key));
    j->temperature = 0.5f + 0.7f * (float)b->creativity;
    j->nvar = b->max_variants > 0 && b->max_variants <= LLM_MAX_VARIANTS ? b->max_variants : 5;
    j->pv = calloc((size_t)j->nvar, sizeof *j->pv);
    j->vin = calloc((size_t)j->nvar, sizeof *j->vin);
    j->ok = calloc((size_t)j->nvar, sizeof *j->ok);
    return j->pv && j->vin && j->ok ? 0 : -1;
}

/* Evaluates up to `max` more prompt tokens into the brief's base state (the
 * logits after the last one when the prompt is done). Returns 1 when the
 * prompt is complete, 0 when tokens remain, -1 on failure. */
static int job_prefill(llm_impl_t *m, job_t *j, size_t max) {
    size_t n = j->np - j->prefilled < max ? j->np - j->prefilled : max;
    int last = j->prefilled + n == j->np;
    if (n && llm_eval(m->model, j->base, j->prompt + j->prefilled, (int)n, last ? j->base_logits : NULL, NULL) < 0) {
        snprintf(j->why, sizeof j->why, "could not evaluate the prompt");
        return -1;
    }
    j->prefilled += n;
    return j->prefilled == j->np;
}

static int seq_start(llm_impl_t *m, job_t *j, int v, int attempt, seq_t *q) {
    const llm_config_t *c = llm_model_config(m->model);
    memset(q, 0, sizeof *q);
    q->job = j;
    q->variant = v;
    llm_sample_params_t sp;
    llm_sample_params_default(&sp);
    sp.temperature = j->temperature;
    sp.seed = j->seed + (uint64_t)(v * 7919 + attempt * 104729);
    q->st = llm_state_new(m->model, j->n_ctx);
    q->smp = llm_sampler_new(c->n_vocab, &sp);
    q->logits = malloc(sizeof(float) * (size_t)c->n_vocab);
    q->hist = malloc(sizeof(int32_t) * (size_t)(j->n_ctx + 1));
    if (!q->st || !q->smp || !q->logits || !q->hist || llm_state_copy(q->st, j->base) < 0) return -1;
    memcpy(q->logits, j->base_logits, sizeof(float) * (size_t)c->n_vocab);
    memcpy(q->hist, j->prompt, j->np * sizeof *q->hist);
    q->nh = (int)j->np;
    detok_init(&q->dt);
    q->dt.first = 0;
    return 0;
}

/* Buffers of one decode step, grown to the number of live sequences. */
typedef struct step_buf {
    llm_state_t **states;
    int32_t *toks;
    size_t *who;
    float *logits;
    size_t cap;
} step_buf_t;

static void step_buf_free(step_buf_t *sb) {
    free(sb->states);
    free(sb->toks);
    free(sb->who);
    free(sb->logits);
    memset(sb, 0, sizeof *sb);
}

static int step_buf_fit(step_buf_t *sb, size_t n, int n_vocab) {
    if (n <= sb->cap) return 0;
    step_buf_t nb = {malloc(n * sizeof *nb.states), malloc(n * sizeof *nb.toks), malloc(n * sizeof *nb.who),
                     malloc(n * sizeof(float) * (size_t)n_vocab), n};
    if (!nb.states || !nb.toks || !nb.who || !nb.logits) {
        step_buf_free(&nb);
        return -1;
    }
    step_buf_free(sb);
    *sb = nb;
    return 0;
}

/* One step for every live sequence: each samples its next token from its
 * last logits (and ends at an end-of-generation token, a blank-line run or
 * its limits); the rest advance together, one pass over the weights for all
 * of them (llm_eval_batch). Finished sequences get q->done. */
static void decode_step(llm_impl_t *m, seq_t **seqs, size_t n, step_buf_t *sb) {
    const llm_config_t *c = llm_model_config(m->model);
    char piece[512];
    if (step_buf_fit(sb, n, c->n_vocab) < 0) {
        for (size_t i = 0; i < n; i++) seqs[i]->done = 1;
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        seq_t *q = seqs[i];
        if (q->done) continue;
        int id = llm_sampler_sample(q->smp, q->logits, q->hist, q->nh, &q->job->mask);
        if (id < 0 || tokenizer_is_eog(m->tok, id) || q->made >= m->max_tokens || q->nh >= q->job->n_ctx) {
            q->done = 1;
            continue;
        }
        q->hist[q->nh++] = id;
        q->made++;
        buf_append(&q->text, piece, detok_push(m->tok, &q->dt, id, piece, sizeof piece));
        if ((q->text.p && strstr(q->text.p, "\n\n\n")) || q->nh >= q->job->n_ctx || q->made >= m->max_tokens) {
            q->done = 1;
            continue;
        }
        sb->states[k] = q->st;
        sb->toks[k] = id;
        sb->who[k++] = i;
    }
    if (k == 0) return;
    if (llm_eval_batch(m->model, sb->states, sb->toks, (int)k, sb->logits) < 0) {
        for (size_t i = 0; i < k; i++) seqs[sb->who[i]]->done = 1;
        return;
    }
    for (size_t i = 0; i < k; i++)
        memcpy(seqs[sb->who[i]]->logits, sb->logits + i * (size_t)c->n_vocab, sizeof(float) * (size_t)c->n_vocab);
}

/* Parses and checks a finished sequence into its brief's variant slot. */
static void seq_finish(llm_impl_t *m, seq_t *q) {
    job_t *j = q->job;
    const brief_t *b = j->item->brief;
    int v = q->variant;
    parsed_free(&j->pv[v]);
    buf_free(&j->pv[v].text);
    memset(&j->pv[v], 0, sizeof j->pv[v]);
    parse_output(q->text.p ? q->text.p : "", b, &m->copy->platforms[b->platform], &j->rs, &j->pv[v]);
    copy_variant_in_t *x = &j->vin[v];
    x->headline = j->pv[v].headline;
    x->primary_text = j->pv[v].text.p ? j->pv[v].text.p : "";
    x->call_to_action = b->call_to_action ? b->call_to_action : "";
    x->hashtags = (const char *const *)j->pv[v].tags;
    x->n_hashtags = j->pv[v].ntags;
    rule_violation_t viol[4];
    size_t nv = copy_check(m->copy, b, &j->rs, x, viol, 4);
    j->ok[v] = nv == 0;
    j->tokens += (unsigned)q->made;
    if (nv)
        snprintf(j->why, sizeof j->why, "the model's variant %d broke the brief's rules after %d attempts: %.120s",
                 v + 1, LLM_ENGINE_ATTEMPTS, viol[0].detail);
}

static void job_output(llm_impl_t *m, job_t *j, double seconds) {
    engine_item_t *it = j->item;
    buf_t out = BUF_INIT;
    const char *keys[] = {"model_file"}, *vals[] = {m->model_name};
    copy_finish_info_t info = {.engine = "llm", .model = m->model_name, .id_prefix = "llm",
                               .generation_seconds = seconds, .tokens = j->tokens,
                               .extra_keys = keys, .extra_values = vals, .n_extra = 1};
    if (copy_finish(m->copy, it->brief, j->vin, (size_t)j->nvar, &info, &out) < 0) {
        buf_free(&out);
        it->status = ENGINE_ERR_INTERNAL;
        snprintf(it->err_message, sizeof it->err_message, "out of memory");
        return;
    }
    it->output = buf_detach(&out, &it->output_len);
    it->tokens = j->tokens;
    it->status = it->output ? ENGINE_OK : ENGINE_ERR_INTERNAL;
}

static void job_free(job_t *j) {
    for (int v = 0; j->pv && v < j->nvar; v++) parsed_free(&j->pv[v]), buf_free(&j->pv[v].text);
    free(j->pv);
    free(j->vin);
    free(j->ok);
    free(j->prompt);
    free(j->base_logits);
    llm_state_free(j->base);
    if (j->mask_ok) llm_mask_free(&j->mask);
}

/* ---- scheduling: continuous batching ---------------------------------------
 *
 * run_feed() keeps one set of live sequences, every variant of every brief
 * admitted so far, and advances them all one token per step. Between two
 * steps it admits the requests that are waiting (while the items running
 * stay within the batch size): each brief's prompt is prefilled once and
 * copied into one sequence per variant, which join the running set. When
 * the last sequence of a brief's round ends, the variants that broke a rule
 * are sampled again (new seed) in the same running set, up to
 * LLM_ENGINE_ATTEMPTS rounds; then the brief's answer is written and, once
 * all its request's items are done, the request is handed back at once,
 * whatever else is still decoding. generate() is the same loop over one
 * fixed batch. */

typedef struct req {
    void *tag;           /* the feed's name for it */
    size_t left;         /* items not finished yet */
} req_t;

typedef struct sched {
    llm_impl_t *m;
    engine_feed_t *feed;
    seq_t **seqs;        /* live sequences */
    size_t ns, cap;
    size_t active;       /* admitted items not finished */
    step_buf_t sb;
    job_t *pending, **pending_tail; /* admitted briefs whose prompt is still being prefilled */
} sched_t;

/* Prompt tokens evaluated between two decode steps while sequences run:
 * a long prompt joining a running batch delays its steps a little at a
 * time instead of all at once. */
#define LLM_PREFILL_CHUNK 32

static void item_done(sched_t *S, req_t *r) {
    S->active--;
    if (--r->left == 0) {
        S->feed->done(S->feed, r->tag);
        free(r);
    }
}

static int seq_push(sched_t *S, seq_t *q) {
    if (S->ns == S->cap) {
        size_t nc = S->cap ? 2 * S->cap : 16;
        seq_t **ns = realloc(S->seqs, nc * sizeof *ns);
        if (!ns) return -1;
        S->seqs = ns;
        S->cap = nc;
    }
    S->seqs[S->ns++] = q;
    return 0;
}

/* Starts a round: one sequence per variant not yet accepted. Returns how
 * many started; out of memory marks the job failed. */
static int round_start(sched_t *S, job_t *j) {
    int started = 0;
    for (int v = 0; v < j->nvar; v++) {
        if (j->ok[v]) continue;
        seq_t *q = calloc(1, sizeof *q);
        if (!q || seq_start(S->m, j, v, j->attempt, q) < 0 || seq_push(S, q) < 0) {
            if (q) seq_free(q);
            free(q);
            j->failed = 1;
            snprintf(j->why, sizeof j->why, "out of memory");
            break; /* the ones started run out; the brief then fails */
        }
        started++;
    }
    j->live += started;
    return started;
}

/* A brief whose round ended: another round for its failed variants, or its
 * answer (or error) and the end of the item. */
static void job_round_end(sched_t *S, job_t *j) {
    int all_ok = !j->failed;
    for (int v = 0; all_ok && v < j->nvar; v++) all_ok &= j->ok[v];
    if (!j->failed && !all_ok && j->attempt + 1 < LLM_ENGINE_ATTEMPTS) {
        j->attempt++;
        if (round_start(S, j) > 0) return;
    }
    engine_item_t *it = j->item;
    if (all_ok) {
        job_output(S->m, j, now_mono() - j->t0);
    } else {
        it->status = j->failed ? ENGINE_ERR_INTERNAL : ENGINE_ERR_UNAVAILABLE;
        snprintf(it->err_message, sizeof it->err_message, "%s", j->why[0] ? j->why : "out of memory");
        it->tokens = j->tokens;
    }
    req_t *r = j->req;
    job_free(j);
    free(j);
    item_done(S, r);
}

/* 1 when the item can go to the model; otherwise its error is set. */
static int item_admissible(engine_t *e, engine_item_t *it) {
    llm_impl_t *m = e->impl;
    it->output = NULL;
    it->tokens = 0;
    if (!m->ready) {
        it->status = ENGINE_ERR_UNAVAILABLE;
        snprintf(it->err_message, sizeof it->err_message, "%.250s", m->reason);
        return 0;
    }
    if (!engine_speaks(e, it->brief->language)) {
        char langs[128];
        engine_language_list(e, langs, sizeof langs);
        it->status = ENGINE_ERR_LANGUAGE;
        snprintf(it->err_field, sizeof it->err_field, "language");
        snprintf(it->err_message, sizeof it->err_message, "engine 'llm' cannot write language '%s'; it writes: %s",
                 it->brief->language, langs);
        return 0;
    }
    return 1;
}

/* Takes every waiting request that fits (any one when nothing runs),
 * prefills its briefs and puts their first round in the running set. */
static void admit(engine_t *e, sched_t *S, const atomic_int *batch_size) {
    for (;;) {
        int limit = atomic_load(batch_size);
        size_t lim = limit > 0 ? (size_t)limit : 1;
        size_t room = S->active < lim ? lim - S->active : 0;
        if (!room && S->active) return;
        engine_item_t *items;
        void *tag;
        size_t n = S->feed->take(S->feed, room, S->active == 0, &items, &tag);
        if (!n) return;
        req_t *r = calloc(1, sizeof *r);
        if (!r) { /* no memory to track it: answer it at once */
            for (size_t i = 0; i < n; i++) {
                items[i].output = NULL;
                items[i].status = ENGINE_ERR_INTERNAL;
                snprintf(items[i].err_message, sizeof items[i].err_message, "out of memory");
            }
            S->feed->done(S->feed, tag);
            continue;
        }
        r->tag = tag;
        r->left = n;
        S->active += n;
        for (size_t i = 0; i < n; i++) {
            engine_item_t *it = &items[i];
            if (!item_admissible(e, it)) {
                item_done(S, r);
                continue;
            }
            job_t *j = calloc(1, sizeof *j);
            if (!j) {
                it->status = ENGINE_ERR_INTERNAL;
                snprintf(it->err_message, sizeof it->err_message, "out of memory");
                item_done(S, r);
                continue;
            }
            j->item = it;
            j->req = r;
            j->t0 = now_mono();
            if (job_prepare(S->m, j) < 0) {
                it->status = ENGINE_ERR_INTERNAL;
                snprintf(it->err_message, sizeof it->err_message, "%s", j->why[0] ? j->why : "out of memory");
                job_free(j);
                free(j);
                item_done(S, r);
                continue;
            }
            /* nothing decoding: nobody waits, the prompt goes in at once;
             * otherwise it is prefilled a chunk per decode step */
            if (S->ns == 0 && !S->pending) {
                int rc = job_prefill(S->m, j, j->np);
                if (rc < 0) j->failed = 1;
                if (rc < 0 || round_start(S, j) <= 0) job_round_end(S, j);
            } else {
                j->next_pending = NULL;
                if (!S->pending) S->pending_tail = &S->pending;
                *S->pending_tail = j;
                S->pending_tail = &j->next_pending;
            }
        }
    }
}

static void llm_run_feed(engine_t *e, engine_feed_t *feed, const atomic_int *batch_size) {
    sched_t S = {.m = e->impl, .feed = feed};
    for (;;) {
        admit(e, &S, batch_size);
        if (S.ns == 0 && !S.pending) break; /* nothing waits, nothing runs */
        /* one chunk of the first waiting prompt (all of it when nothing
         * decodes); a finished prompt starts its variants in the set */
        if (S.pending) {
            job_t *j = S.pending;
            int rc = job_prefill(S.m, j, S.ns ? LLM_PREFILL_CHUNK : j->np);
            if (rc != 0) {
                S.pending = j->next_pending;
                if (rc < 0) j->failed = 1;
                if (rc < 0 || round_start(&S, j) <= 0) job_round_end(&S, j);
            }
        }
        if (S.ns == 0) continue;
        decode_step(S.m, S.seqs, S.ns, &S.sb);
        /* retire finished sequences; a round's last one ends its brief's
         * round, which may push the next round's sequences past n */
        size_t n = S.ns, w = 0;
        for (size_t i = 0; i < n; i++) {
            seq_t *q = S.seqs[i];
            if (!q->done) {
                S.seqs[w++] = q;
                continue;
            }
            char piece[512];
            buf_append(&q->text, piece, detok_flush(&q->dt, piece, sizeof piece));
            job_t *j = q->job;
            if (!j->failed) seq_finish(S.m, q);
            seq_free(q);
            free(q);
            if (--j->live == 0) job_round_end(&S, j);
        }
        for (size_t k = n; k < S.ns; k++) S.seqs[w++] = S.seqs[k];
        S.ns = w;
    }
    free(S.seqs);
    step_buf_free(&S.sb);
}

/* ---- engine interface ---------------------------------------------------- */

static int llm_ready(engine_t *e, char *why, size_t whysz) {
    llm_impl_t *m = e->impl;
    if (!m->ready) snprintf(why, whysz, "%s", m->reason);
    return m->ready;
}

/* generate(): the scheduler over one fixed batch, handed over at once. */
typedef struct array_feed {
    engine_item_t *items;
    size_t n;
    int taken;
} array_feed_t;

static size_t array_take(engine_feed_t *f, size_t room, int idle, engine_item_t **items, void **tag) {
    (void)room;
    (void)idle;
    array_feed_t *a = f->ctx;
    if (a->taken || !a->n) return 0;
    a->taken = 1;
    *items = a->items;
    *tag = NULL;
    return a->n;
}

static void array_done(engine_feed_t *f, void *tag) {
    (void)f;
    (void)tag;
}

static void llm_generate(engine_t *e, engine_item_t *items, size_t n) {
    array_feed_t a = {items, n, 0};
    engine_feed_t feed = {array_take, array_done, &a};
    atomic_int all;
    atomic_init(&all, (int)n);
    llm_run_feed(e, &feed, &all);
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
    e->run_feed = llm_run_feed;
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
