#include "copy/finish.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "copy/score.h"
#include "copy/text.h"
#include "core/util.h"

#define FINISH_MAX_VIOLATIONS 16

void copy_rules_for(const copy_data_t *d, const brief_t *b, ruleset_t *rs) {
    const pb_lang_t *L = copy_data_lang(d, b->language);
    rules_build(rs, d->rules, d->nlangs, L ? L->rules : NULL, b);
}

static size_t cps(const char *s) { return s ? utf8_count(s, strlen(s)) : 0; }

/* The post as published: headline, text, call to action and the hashtag
 * line, joined by blank lines (the template engine counts the same way). */
static void post_text(const copy_variant_in_t *v, buf_t *out) {
    const char *parts[3] = {v->headline, v->primary_text, v->call_to_action};
    for (int i = 0; i < 3; i++) {
        if (!parts[i] || !*parts[i]) continue;
        if (out->len) buf_puts(out, "\n\n");
        buf_puts(out, parts[i]);
    }
    for (size_t i = 0; i < v->n_hashtags; i++) {
        if (i == 0 && out->len) buf_puts(out, "\n\n");
        else if (i) buf_putc(out, ' ');
        buf_puts(out, v->hashtags[i]);
    }
}

static long word_total(const copy_variant_in_t *v) {
    long n = 0;
    const char *parts[3] = {v->headline, v->primary_text, v->call_to_action};
    for (int i = 0; i < 3; i++)
        if (parts[i]) n += (long)text_count_words(parts[i], strlen(parts[i]));
    return n;
}

static void add_violation(rule_violation_t *out, size_t max, size_t *n, rule_kind_t kind, const char *fmt, long a,
                          long b) {
    if (*n < max) {
        out[*n].kind = kind;
        snprintf(out[*n].detail, sizeof out[*n].detail, fmt, a, b);
    }
    (*n)++;
}

size_t copy_check(const copy_data_t *d, const brief_t *b, const ruleset_t *rs, const copy_variant_in_t *v,
                  rule_violation_t *out, size_t max) {
    buf_t post = BUF_INIT;
    post_text(v, &post);
    rules_subject_t subj = {0};
    subj.headline = v->headline ? v->headline : "";
    subj.primary_text = v->primary_text ? v->primary_text : "";
    subj.call_to_action = v->call_to_action ? v->call_to_action : "";
    subj.hashtags = v->hashtags;
    subj.n_hashtags = v->n_hashtags;
    subj.words = word_total(v);
    subj.chars = (long)cps(post.p);
    size_t n = rules_check(rs, &subj, out, max);
    const pb_platform_t *P = &d->platforms[b->platform];
    long hl = (long)cps(v->headline), tl = (long)cps(v->primary_text);
    if (P->headline_max && hl > P->headline_max)
        add_violation(out, max, &n, RULE_MAX_CHARS, "headline has %ld characters; the platform allows %ld", hl,
                      P->headline_max);
    if (P->text_max && tl > P->text_max)
        add_violation(out, max, &n, RULE_MAX_CHARS, "text has %ld characters; the platform allows %ld", tl, P->text_max);
    if (P->total_max && subj.chars > P->total_max)
        add_violation(out, max, &n, RULE_MAX_CHARS, "the post has %ld characters; the platform allows %ld", subj.chars,
                      P->total_max);
    if ((long)v->n_hashtags > P->hashtags_max)
        add_violation(out, max, &n, RULE_NO_HASHTAGS, "%ld hashtags; the platform allows %ld", (long)v->n_hashtags,
                      P->hashtags_max);
    if (b->max_length > 0 && tl > b->max_length)
        add_violation(out, max, &n, RULE_MAX_CHARS, "text has %ld characters; max_length is %ld", tl, b->max_length);
    if (b->min_length > 0 && tl < b->min_length)
        add_violation(out, max, &n, RULE_MAX_CHARS, "text has %ld characters; min_length is %ld", tl, b->min_length);
    buf_free(&post);
    return n;
}

static double round_to(double v, double unit) { return round(v / unit) * unit; }

typedef struct scored {
    long chars, words;
    double read, eng, feats[ENG__COUNT];
    rule_violation_t viol[FINISH_MAX_VIOLATIONS];
    size_t nviol;
} scored_t;

static void score_one(const copy_data_t *d, const brief_t *b, const ruleset_t *rs, const copy_variant_in_t *v,
                      scored_t *s) {
    buf_t post = BUF_INIT;
    post_text(v, &post);
    s->chars = (long)cps(post.p);
    s->words = word_total(v);
    text_stats_t st;
    memset(&st, 0, sizeof st);
    const char *parts[3] = {v->headline, v->primary_text, v->call_to_action};
    for (int i = 0; i < 3; i++)
        if (parts[i] && *parts[i]) text_stats_add(b->language, parts[i], strlen(parts[i]), &st);
    s->read = readability_score(b->language, &st);
    s->nviol = copy_check(d, b, rs, v, s->viol, FINISH_MAX_VIOLATIONS);
    if (s->nviol > FINISH_MAX_VIOLATIONS) s->nviol = FINISH_MAX_VIOLATIONS;

    const pb_platform_t *P = &d->platforms[b->platform];
    engagement_in_t in;
    memset(&in, 0, sizeof in);
    in.text_chars = (long)cps(v->primary_text);
    in.text_ideal[0] = P->text_ideal[0];
    in.text_ideal[1] = P->text_ideal[1];
    if (b->max_length > 0 && in.text_ideal[1] > b->max_length) in.text_ideal[1] = b->max_length;
    if (in.text_ideal[0] > in.text_ideal[1]) in.text_ideal[0] = in.text_ideal[1] / 2;
    in.has_cta = v->call_to_action && *v->call_to_action;
    in.hook_question = v->headline && strchr(v->headline, '?') != NULL;
    in.hook_strong = v->headline && (strchr(v->headline, '!') || strpbrk(v->headline, "0123456789"));
    /* key points: present when their folded text is in the folded post */
    char *folded = malloc(post.len * 3 + 1);
    size_t flen = folded ? text_fold(post.p ? post.p : "", post.len, folded) : 0;
    in.key_points_total = b->key_points.n;
    for (size_t i = 0; folded && i < b->key_points.n; i++) {
        const char *kp = b->key_points.items[i];
        char *fk = malloc(strlen(kp) * 3 + 1);
        if (!fk) continue;
        size_t kl = text_fold(kp, strlen(kp), fk);
        if (kl && memmem(folded, flen, fk, kl)) in.key_points_present++;
        free(fk);
    }
    free(folded);
    in.readability = s->read;
    in.hashtags = v->n_hashtags;
    in.hashtags_ideal[0] = P->hashtags_ideal[0];
    in.hashtags_ideal[1] = P->hashtags_ideal[1];
    in.compliant = s->nviol == 0;
    s->eng = engagement_predict(&in, s->feats);
    buf_free(&post);
}

static void put_compliance(const ruleset_t *rs, const scored_t *s, buf_t *o) {
    buf_puts(o, s->nviol ? "{\"passed\":false,\"rules\":[" : "{\"passed\":true,\"rules\":[");
    for (size_t i = 0; i < rs->n; i++) {
        const rule_t *r = &rs->rules[i];
        if (i) buf_putc(o, ',');
        buf_puts(o, "{\"restriction\":");
        if (r->from_dont_use) {
            buf_t t = BUF_INIT;
            buf_printf(&t, "brand_voice.dont_use: %s", r->restriction);
            buf_json_str(o, t.p);
            buf_free(&t);
        } else {
            buf_json_str(o, r->restriction);
        }
        buf_puts(o, ",\"rule\":");
        buf_json_str(o, rule_kind_name(r->kind));
        buf_puts(o, ",\"value\":");
        buf_json_str(o, r->value[0] ? r->value : "true");
        buf_putc(o, '}');
    }
    buf_puts(o, "],\"violations\":[");
    for (size_t i = 0; i < s->nviol; i++) {
        buf_puts(o, i ? ",{\"rule\":" : "{\"rule\":");
        buf_json_str(o, rule_kind_name(s->viol[i].kind));
        buf_puts(o, ",\"detail\":");
        buf_json_str(o, s->viol[i].detail);
        buf_putc(o, '}');
    }
    buf_puts(o, "],\"not_understood\":[");
    for (size_t i = 0; i < rs->n_not_understood; i++) {
        if (i) buf_putc(o, ',');
        buf_json_str(o, rs->not_understood[i]);
    }
    buf_puts(o, "]}");
}

int copy_finish(const copy_data_t *d, const brief_t *b, const copy_variant_in_t *v, size_t n,
                const copy_finish_info_t *info, buf_t *out) {
    ruleset_t *rs = malloc(sizeof *rs);
    scored_t *sc = calloc(n ? n : 1, sizeof *sc);
    if (!rs || !sc) {
        free(rs);
        free(sc);
        return -1;
    }
    copy_rules_for(d, b, rs);
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        score_one(d, b, rs, &v[i], &sc[i]);
        if (sc[i].eng > sc[best].eng || (sc[i].eng == sc[best].eng && sc[i].read > sc[best].read)) best = i;
    }
    /* ids: stable for the same brief and text, distinct per variant */
    char key[BRIEF_KEY_LEN];
    brief_cache_key(b, info->engine, info->model, key);
    const pb_lang_t *L = copy_data_lang(d, b->language);
    buf_puts(out, "{\"variants\":[");
    for (size_t i = 0; i < n; i++) {
        const copy_variant_in_t *x = &v[i];
        const scored_t *s = &sc[i];
        if (i) buf_putc(out, ',');
        buf_printf(out, "{\"variant_id\":\"%s-%.12s-%zu\",\"headline\":", info->id_prefix, key, i + 1);
        buf_json_str(out, x->headline ? x->headline : "");
        buf_puts(out, ",\"primary_text\":");
        buf_json_str(out, x->primary_text ? x->primary_text : "");
        buf_puts(out, ",\"call_to_action\":");
        buf_json_str(out, x->call_to_action ? x->call_to_action : "");
        buf_puts(out, ",\"hashtags\":[");
        for (size_t k = 0; k < x->n_hashtags; k++) {
            if (k) buf_putc(out, ',');
            buf_json_str(out, x->hashtags[k]);
        }
        buf_printf(out, "],\"character_count\":%ld,\"word_count\":%ld,\"readability_score\":", s->chars, s->words);
        buf_json_num(out, round_to(s->read, 0.01));
        buf_puts(out, ",\"engagement_prediction\":");
        buf_json_num(out, round_to(s->eng, 0.001));
        buf_puts(out, ",\"platform_tips\":[");
        for (int k = 0; L && k < L->ntips[b->platform]; k++) {
            if (k) buf_putc(out, ',');
            buf_json_str(out, L->tips[b->platform][k]);
        }
        buf_puts(out, "],\"evaluation_metrics\":");
        engagement_metrics_json(out, s->feats, s->read);
        buf_puts(out, ",\"compliance\":");
        put_compliance(rs, s, out);
        buf_putc(out, '}');
    }
    char ts[ISO8601_LEN];
    iso8601_now(ts);
    buf_printf(out, "],\"best_variant_id\":\"%s-%.12s-%zu\",\"confidence_score\":", info->id_prefix, key, best + 1);
    buf_json_num(out, n ? round_to(sc[best].eng, 0.001) : 0);
    buf_puts(out, ",\"model_used\":");
    buf_json_str(out, info->model);
    buf_puts(out, ",\"generation_time\":");
    buf_fixed6(out, info->generation_seconds);
    buf_printf(out, ",\"tokens_used\":%u,\"optimization_suggestions\":[", info->tokens);
    for (size_t k = 0; k < info->n_suggestions; k++) {
        if (k) buf_putc(out, ',');
        buf_json_str(out, info->suggestions[k]);
    }
    buf_puts(out, "],\"created_at\":\"");
    buf_puts(out, ts);
    buf_puts(out, "\",\"extra_metadata\":{\"engine\":");
    buf_json_str(out, info->engine);
    buf_puts(out, ",\"language\":");
    buf_json_str(out, b->language);
    buf_puts(out, ",\"platform\":");
    buf_json_str(out, platform_name(b->platform));
    for (size_t k = 0; k < info->n_extra; k++) {
        buf_putc(out, ',');
        buf_json_str(out, info->extra_keys[k]);
        buf_putc(out, ':');
        buf_json_str(out, info->extra_values[k]);
    }
    buf_puts(out, "}}");
    free(rs);
    free(sc);
    return out->oom ? -1 : 0;
}
