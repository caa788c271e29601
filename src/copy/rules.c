#include "copy/rules.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/text.h"

typedef struct strv {
    char **v;
    size_t n;
} strv_t;

#define FLAG_KINDS 4 /* RULE_NO_PRICE .. RULE_NO_EXCLAMATION */
#define NUMERIC_MAX 4
#define COMPLIANCE_MAX 16

struct rules_lang {
    strv_t exact[FLAG_KINDS];
    strv_t negations;
    strv_t topics[FLAG_KINDS];
    struct {
        rule_kind_t kind;
        strv_t prefixes, units, suffixes; /* "max 50 words" / "50 mots maximum" */
    } numeric[NUMERIC_MAX];
    size_t n_numeric;
    strv_t word_prefixes, banned_prefixes, banned_strip;
    strv_t banned_suffixes; /* "das Wort X vermeiden", "X interdit": verb or ban after the word */
    int banned_max_words;
    strv_t price_words, currency_codes;
    /* compliance requirements: an item that holds one of `when` (normalised
     * substrings) forbids the words of `ban` (as written) */
    struct {
        strv_t when;
        char **ban;
        size_t nban;
    } compliance[COMPLIANCE_MAX];
    size_t n_compliance;
};

static const char *const kind_names[RULE__COUNT] = {
    "no_price", "no_emoji", "no_hashtags", "no_exclamation", "banned_word", "max_words", "max_chars",
    "compliance_requirement",
};

const char *rule_kind_name(rule_kind_t k) { return (unsigned)k < RULE__COUNT ? kind_names[k] : "unknown"; }

static void strv_free(strv_t *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

void rules_lang_free(rules_lang_t *l) {
    if (!l) return;
    for (int k = 0; k < FLAG_KINDS; k++) { strv_free(&l->exact[k]); strv_free(&l->topics[k]); }
    strv_free(&l->negations);
    for (size_t i = 0; i < l->n_numeric; i++) {
        strv_free(&l->numeric[i].prefixes);
        strv_free(&l->numeric[i].units);
        strv_free(&l->numeric[i].suffixes);
    }
    strv_free(&l->banned_suffixes);
    for (size_t i = 0; i < l->n_compliance; i++) {
        strv_free(&l->compliance[i].when);
        for (size_t k = 0; k < l->compliance[i].nban; k++) free(l->compliance[i].ban[k]);
        free(l->compliance[i].ban);
    }
    strv_free(&l->word_prefixes);
    strv_free(&l->banned_prefixes);
    strv_free(&l->banned_strip);
    strv_free(&l->price_words);
    strv_free(&l->currency_codes);
    free(l);
}

/* Reads an array of strings into `out`, each in normal form. */
static int load_strv(const json_t *arr, const char *path, const char *what, strv_t *out, char *err, size_t errsz) {
    if (!json_is_array(arr)) {
        snprintf(err, errsz, "%s: '%s' must be an array of strings", path, what);
        return -1;
    }
    size_t n = json_array_size(arr);
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v) { snprintf(err, errsz, "%s: out of memory", path); return -1; }
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(arr, i);
        if (!json_is_string(s) || json_string_length(s) == 0) {
            snprintf(err, errsz, "%s: '%s[%zu]' must be a non-empty string", path, what, i);
            return -1;
        }
        size_t len = json_string_length(s);
        char *norm = malloc(len + 1);
        if (!norm) { snprintf(err, errsz, "%s: out of memory", path); return -1; }
        text_normalize(json_string_value(s), len, norm);
        out->v[out->n++] = norm;
    }
    return 0;
}

static int flag_kind_from(const char *name) {
    for (int k = 0; k < FLAG_KINDS; k++)
        if (strcmp(name, kind_names[k]) == 0) return k;
    return -1;
}

static int load_flag_map(const json_t *obj, const char *path, const char *what, strv_t *dst, char *err, size_t errsz) {
    if (!json_is_object(obj)) { snprintf(err, errsz, "%s: '%s' must be an object", path, what); return -1; }
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        int k = flag_kind_from(key);
        if (k < 0) {
            snprintf(err, errsz, "%s: '%s.%s': unknown rule (known: no_price, no_emoji, no_hashtags, no_exclamation)",
                     path, what, key);
            return -1;
        }
        char w[96];
        snprintf(w, sizeof w, "%.40s.%.40s", what, key);
        if (dst[k].v) { snprintf(err, errsz, "%s: '%s' given twice", path, w); return -1; }
        if (load_strv(val, path, w, &dst[k], err, errsz) < 0) return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

rules_lang_t *rules_lang_load(const char *path, char *err, size_t errsz) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(err, errsz, "%s: line %d: %s", path, je.line, je.text);
        return NULL;
    }
    rules_lang_t *l = calloc(1, sizeof *l);
    if (!l) { json_decref(root); snprintf(err, errsz, "%s: out of memory", path); return NULL; }
    if (!json_is_object(root)) { snprintf(err, errsz, "%s: top level must be an object", path); goto fail; }
    if (load_flag_map(json_object_get(root, "exact"), path, "exact", l->exact, err, errsz) < 0) goto fail;
    if (load_flag_map(json_object_get(root, "topics"), path, "topics", l->topics, err, errsz) < 0) goto fail;
    if (load_strv(json_object_get(root, "negations"), path, "negations", &l->negations, err, errsz) < 0) goto fail;
    if (load_strv(json_object_get(root, "word_prefixes"), path, "word_prefixes", &l->word_prefixes, err, errsz) < 0) goto fail;
    if (load_strv(json_object_get(root, "banned_prefixes"), path, "banned_prefixes", &l->banned_prefixes, err, errsz) < 0) goto fail;
    if (load_strv(json_object_get(root, "banned_strip"), path, "banned_strip", &l->banned_strip, err, errsz) < 0) goto fail;
    if (load_strv(json_object_get(root, "price_words"), path, "price_words", &l->price_words, err, errsz) < 0) goto fail;
    /* optional: languages that put the verb after the banned word */
    if (json_object_get(root, "banned_suffixes") &&
        load_strv(json_object_get(root, "banned_suffixes"), path, "banned_suffixes", &l->banned_suffixes, err, errsz) < 0)
        goto fail;
    if (load_strv(json_object_get(root, "currency_codes"), path, "currency_codes", &l->currency_codes, err, errsz) < 0) goto fail;
    qsort(l->price_words.v, l->price_words.n, sizeof *l->price_words.v, cmp_str); /* bsearch in price_in_folded */
    const json_t *bmw = json_object_get(root, "banned_max_words");
    if (!json_is_integer(bmw) || json_integer_value(bmw) < 1 || json_integer_value(bmw) > 8) {
        snprintf(err, errsz, "%s: 'banned_max_words' must be an integer 1..8", path);
        goto fail;
    }
    l->banned_max_words = (int)json_integer_value(bmw);
    const json_t *num = json_object_get(root, "numeric");
    if (!json_is_array(num) || json_array_size(num) > NUMERIC_MAX) {
        snprintf(err, errsz, "%s: 'numeric' must be an array of at most %d objects", path, NUMERIC_MAX);
        goto fail;
    }
    for (size_t i = 0; i < json_array_size(num); i++) {
        const json_t *e = json_array_get(num, i);
        const char *rule = json_string_value(json_object_get(e, "rule"));
        char w[48];
        snprintf(w, sizeof w, "numeric[%zu]", i);
        if (!rule || (strcmp(rule, "max_words") != 0 && strcmp(rule, "max_chars") != 0)) {
            snprintf(err, errsz, "%s: '%s.rule' must be \"max_words\" or \"max_chars\"", path, w);
            goto fail;
        }
        l->numeric[i].kind = strcmp(rule, "max_words") == 0 ? RULE_MAX_WORDS : RULE_MAX_CHARS;
        l->n_numeric = i + 1;
        if (load_strv(json_object_get(e, "prefixes"), path, w, &l->numeric[i].prefixes, err, errsz) < 0) goto fail;
        if (load_strv(json_object_get(e, "units"), path, w, &l->numeric[i].units, err, errsz) < 0) goto fail;
        if (json_object_get(e, "suffixes") && load_strv(json_object_get(e, "suffixes"), path, w, &l->numeric[i].suffixes, err, errsz) < 0)
            goto fail;
    }
    const json_t *comp = json_object_get(root, "compliance"); /* optional */
    if (comp && (!json_is_array(comp) || json_array_size(comp) > COMPLIANCE_MAX)) {
        snprintf(err, errsz, "%s: 'compliance' must be an array of at most %d objects", path, COMPLIANCE_MAX);
        goto fail;
    }
    for (size_t i = 0; comp && i < json_array_size(comp); i++) {
        const json_t *e = json_array_get(comp, i), *ban = json_object_get(e, "ban");
        char w[48];
        snprintf(w, sizeof w, "compliance[%zu].when", i);
        l->n_compliance = i + 1;
        if (load_strv(json_object_get(e, "when"), path, w, &l->compliance[i].when, err, errsz) < 0) goto fail;
        if (!json_is_array(ban) || json_array_size(ban) == 0) {
            snprintf(err, errsz, "%s: 'compliance[%zu].ban' must be a non-empty array of words", path, i);
            goto fail;
        }
        l->compliance[i].ban = calloc(json_array_size(ban), sizeof *l->compliance[i].ban);
        if (!l->compliance[i].ban) { snprintf(err, errsz, "%s: out of memory", path); goto fail; }
        for (size_t k = 0; k < json_array_size(ban); k++) {
            const char *b = json_string_value(json_array_get(ban, k));
            if (!b || !*b || strlen(b) >= RULE_VALUE_MAX) {
                snprintf(err, errsz, "%s: 'compliance[%zu].ban[%zu]' must be a word of 1..%d bytes", path, i, k, RULE_VALUE_MAX - 1);
                goto fail;
            }
            if (!(l->compliance[i].ban[k] = strdup(b))) { snprintf(err, errsz, "%s: out of memory", path); goto fail; }
            l->compliance[i].nban = k + 1;
        }
    }
    json_decref(root);
    return l;
fail:
    json_decref(root);
    rules_lang_free(l);
    return NULL;
}

/* If `s` starts with the words of `prefix` followed by a space, returns the
 * rest; NULL otherwise. */
static const char *after_prefix(const char *s, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) == 0 && s[n] == ' ') return s + n + 1;
    return NULL;
}

static size_t count_words_norm(const char *s) {
    size_t n = 0;
    for (const char *p = s; *p; p++)
        if (*p != ' ' && (p == s || p[-1] == ' ')) n++;
    return n;
}

static int is_quote_cp(uint32_t cp) {
    return (cp < 0x80 && ispunct((int)cp)) || cp == 0xAB || cp == 0xBB || cp == 0xBF || cp == 0xA1 || cp == 0xA0 ||
           cp == 0x2018 || cp == 0x2019 || cp == 0x201A || cp == 0x201C || cp == 0x201D || cp == 0x201E ||
           cp == 0x2039 || cp == 0x203A || cp == 0x202F;
}

/* Length of orig[0..end) without trailing spaces, quotes and punctuation
 * ("« bon marché »" -> "« bon marché"). */
static size_t trim_tail(const char *orig, size_t end) {
    while (end > 0) {
        size_t b = end - 1;
        while (b > 0 && ((unsigned char)orig[b] & 0xC0) == 0x80) b--;
        uint32_t cp;
        utf8_decode(orig + b, end - b, &cp);
        if (!(cp < 0x80 && isspace((int)cp)) && !(is_quote_cp(cp) && cp != '-')) break;
        end = b;
    }
    return end;
}

/* The last `k` words of the original restriction after skipping its last
 * `skip` words, quotes and punctuation trimmed from both ends, so "Avoid the
 * word 'Healthy'" shows "Healthy" and "das Wort „billig“ vermeiden" (skip 1)
 * shows "billig". */
static void original_tail(const char *orig, size_t k, size_t skip, char *out, size_t outsz) {
    size_t end = trim_tail(orig, strlen(orig));
    for (size_t s = 0; s < skip; s++) {
        while (end > 0 && !isspace((unsigned char)orig[end - 1])) end--;
        end = trim_tail(orig, end);
    }
    size_t start = end, words = 0;
    while (start > 0 && words < k) {
        while (start > 0 && !isspace((unsigned char)orig[start - 1])) start--;
        words++;
        if (words < k) while (start > 0 && isspace((unsigned char)orig[start - 1])) start--;
    }
    /* trim quotes: leading */
    for (;;) {
        uint32_t cp;
        size_t n = utf8_decode(orig + start, end - start, &cp);
        if (n == 0 || !is_quote_cp(cp) || cp == '-') break;
        start += n;
    }
    /* trailing: step back over one code point at a time */
    while (end > start) {
        size_t b = end - 1;
        while (b > start && ((unsigned char)orig[b] & 0xC0) == 0x80) b--;
        uint32_t cp;
        utf8_decode(orig + b, end - b, &cp);
        if (!is_quote_cp(cp) || cp == '-') break;
        end = b;
    }
    size_t n = end - start;
    if (n >= outsz) n = utf8_prefix_bytes(orig + start, n, outsz / 4);
    if (n >= outsz) n = outsz - 1;
    memcpy(out, orig + start, n);
    out[n] = '\0';
}

/* If `s` ends with a space and the words of `suffix`, returns the length of
 * what comes before that space; 0 otherwise. */
static size_t before_suffix(const char *s, size_t n, const char *suffix) {
    size_t k = strlen(suffix);
    if (n > k + 1 && s[n - k - 1] == ' ' && memcmp(s + n - k, suffix, k) == 0) return n - k - 1;
    return 0;
}

/* `rest` (normal form) names a banned word or phrase: strip articles and a
 * trailing verb ("vermeiden"), check the word count, fill the rule. */
static int banned_from_rest(const rules_lang_t *l, const char *rest, const char *orig, rule_t *out) {
    char cut[1001];
    size_t skip = 0, rn = strlen(rest);
    for (size_t i = 0; i < l->banned_suffixes.n && rn < sizeof cut; i++) {
        size_t b = before_suffix(rest, rn, l->banned_suffixes.v[i]);
        if (!b) continue;
        memcpy(cut, rest, b);
        cut[b] = '\0';
        skip = count_words_norm(l->banned_suffixes.v[i]);
        rest = cut;
        break;
    }
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < l->banned_strip.n; i++) {
            const char *r = after_prefix(rest, l->banned_strip.v[i]);
            if (r && *r) { rest = r; again = 1; break; }
        }
    }
    size_t words = count_words_norm(rest);
    if (words == 0 || words > (size_t)l->banned_max_words || strlen(rest) >= RULE_VALUE_MAX) return 0;
    out->kind = RULE_BANNED_WORD;
    memcpy(out->folded, rest, strlen(rest) + 1); /* < RULE_VALUE_MAX, checked above */
    original_tail(orig, words, skip, out->value, sizeof out->value);
    char chk[RULE_VALUE_MAX];
    text_normalize(out->value, strlen(out->value), chk);
    if (strcmp(chk, out->folded) != 0) snprintf(out->value, sizeof out->value, "%s", out->folded);
    return 1;
}

/* The specific patterns of one language: exact, numeric, "the word X", topics. */
static int parse_specific(const rules_lang_t *l, const char *norm, const char *orig, rule_t *out) {
    for (int k = 0; k < FLAG_KINDS; k++)
        for (size_t i = 0; i < l->exact[k].n; i++)
            if (strcmp(norm, l->exact[k].v[i]) == 0) { out->kind = (rule_kind_t)k; return 1; }
    for (size_t i = 0; i < l->n_numeric; i++) {
        for (size_t p = 0; p < l->numeric[i].prefixes.n; p++) {
            const char *r = after_prefix(norm, l->numeric[i].prefixes.v[p]);
            if (!r || !isdigit((unsigned char)*r)) continue;
            char *end;
            long n = strtol(r, &end, 10);
            if (*end != ' ' || n <= 0 || n > 1000000) continue;
            for (size_t u = 0; u < l->numeric[i].units.n; u++) {
                if (strcmp(end + 1, l->numeric[i].units.v[u]) == 0) {
                    out->kind = l->numeric[i].kind;
                    out->n = n;
                    snprintf(out->value, sizeof out->value, "%ld", n);
                    return 1;
                }
            }
        }
        /* "<n> <unit> <suffix>": "50 mots maximum", "200 Zeichen maximal" */
        if (isdigit((unsigned char)norm[0]) && l->numeric[i].suffixes.n) {
            char *end;
            long n = strtol(norm, &end, 10);
            if (*end != ' ' || n <= 0 || n > 1000000) continue;
            for (size_t u = 0; u < l->numeric[i].units.n; u++) {
                const char *r = after_prefix(end + 1, l->numeric[i].units.v[u]);
                if (!r) continue;
                for (size_t sf = 0; sf < l->numeric[i].suffixes.n; sf++)
                    if (strcmp(r, l->numeric[i].suffixes.v[sf]) == 0) {
                        out->kind = l->numeric[i].kind;
                        out->n = n;
                        snprintf(out->value, sizeof out->value, "%ld", n);
                        return 1;
                    }
            }
        }
    }
    for (size_t i = 0; i < l->word_prefixes.n; i++) {
        const char *r = after_prefix(norm, l->word_prefixes.v[i]);
        if (r && banned_from_rest(l, r, orig, out)) return 1;
    }
    size_t nlen = strlen(norm);
    int negated = 0;
    for (size_t i = 0; i < l->negations.n && !negated; i++)
        negated = text_has_word(norm, nlen, l->negations.v[i], 0, 1);
    if (negated)
        for (int k = 0; k < FLAG_KINDS; k++)
            for (size_t i = 0; i < l->topics[k].n; i++)
                if (text_has_word(norm, nlen, l->topics[k].v[i], 0, 1)) { out->kind = (rule_kind_t)k; return 1; }
    return 0;
}

static int parse_generic(const rules_lang_t *l, const char *norm, const char *orig, rule_t *out) {
    for (size_t i = 0; i < l->banned_prefixes.n; i++) {
        const char *r = after_prefix(norm, l->banned_prefixes.v[i]);
        if (r && banned_from_rest(l, r, orig, out)) return 1;
    }
    /* "X vermeiden", "X interdit": banned_from_rest strips the suffix itself */
    size_t n = strlen(norm);
    for (size_t i = 0; i < l->banned_suffixes.n; i++) {
        const char *sf = l->banned_suffixes.v[i];
        if (!before_suffix(norm, n, sf)) continue;
        /* alone, only a suffix that negates bans: "X vermeiden" does, "Du-Form verwenden" does not */
        int neg = 0;
        for (size_t k = 0; k < l->negations.n && !neg; k++) neg = text_has_word(sf, strlen(sf), l->negations.v[k], 0, 1);
        if (neg && banned_from_rest(l, norm, orig, out)) return 1;
    }
    return 0;
}

int rules_parse_one(const rules_lang_t *const *langs, size_t nlangs, const char *text, rule_t *out) {
    memset(out, 0, sizeof *out);
    out->restriction = text;
    size_t len = strlen(text);
    if (len == 0 || len > 1000) return 0;
    char norm[1001];
    text_normalize(text, len, norm);
    if (!norm[0]) return 0;
    /* Specific patterns of every language before the generic "no X" of any:
     * otherwise Spanish "no X" would read English "no price mentions" as a
     * banned phrase. */
    for (size_t i = 0; i < nlangs; i++)
        if (langs[i] && parse_specific(langs[i], norm, text, out)) return 1;
    for (size_t i = 0; i < nlangs; i++)
        if (langs[i] && parse_generic(langs[i], norm, text, out)) return 1;
    memset(out, 0, sizeof *out);
    out->restriction = text;
    return 0;
}

static void add_rule(ruleset_t *rs, const rule_t *r) {
    if (rs->n >= RULES_MAX) {
        if (rs->n_not_understood < RULES_MAX) rs->not_understood[rs->n_not_understood++] = r->restriction;
        return;
    }
    rs->rules[rs->n++] = *r;
    switch (r->kind) {
    case RULE_NO_PRICE: rs->no_price = 1; break;
    case RULE_NO_EMOJI: rs->no_emoji = 1; break;
    case RULE_NO_HASHTAGS: rs->no_hashtags = 1; break;
    case RULE_NO_EXCLAMATION: rs->no_exclamation = 1; break;
    case RULE_BANNED_WORD: rs->n_banned++; break;
    case RULE_MAX_WORDS: if (!rs->max_words || r->n < rs->max_words) rs->max_words = r->n; break;
    case RULE_MAX_CHARS: if (!rs->max_chars || r->n < rs->max_chars) rs->max_chars = r->n; break;
    default: break;
    }
}

/* 1 when normalised `s` has `stem` at the start of a word ("garantiz" in
 * "resultados garantizados", not "cura" in "procurar"). */
static int has_word_start(const char *s, const char *stem) {
    for (const char *p = strstr(s, stem); p; p = strstr(p + 1, stem))
        if (p == s || p[-1] == ' ') return 1;
    return 0;
}

void rules_build(ruleset_t *rs, const rules_lang_t *const *langs, size_t nlangs,
                 const rules_lang_t *copy_lang, const brief_t *b) {
    memset(rs, 0, sizeof *rs);
    rs->lang = copy_lang;
    /* the copy's language first */
    const rules_lang_t *order[32];
    size_t n = 0;
    if (copy_lang) order[n++] = copy_lang;
    for (size_t i = 0; i < nlangs && n < 32; i++)
        if (langs[i] != copy_lang) order[n++] = langs[i];
    for (size_t i = 0; i < b->restrictions.n; i++) {
        rule_t r;
        if (rules_parse_one(order, n, b->restrictions.items[i], &r)) add_rule(rs, &r);
        else if (rs->n_not_understood < RULES_MAX) rs->not_understood[rs->n_not_understood++] = b->restrictions.items[i];
    }
    for (size_t i = 0; i < b->compliance_requirements.n; i++) {
        const char *text = b->compliance_requirements.items[i];
        rule_t r;
        memset(&r, 0, sizeof r);
        r.kind = RULE_COMPLIANCE;
        r.restriction = text;
        add_rule(rs, &r);
        size_t len = strlen(text);
        char small[512], *norm = len < sizeof small ? small : malloc(len + 1);
        if (!norm) continue;
        text_normalize(text, len, norm);
        /* the first language whose table knows the item decides */
        int found = 0;
        for (size_t li = 0; li < n && !found; li++)
            for (size_t c = 0; c < order[li]->n_compliance; c++) {
                int hit = 0;
                for (size_t k = 0; k < order[li]->compliance[c].when.n && !hit; k++)
                    hit = has_word_start(norm, order[li]->compliance[c].when.v[k]);
                if (!hit) continue;
                found = 1;
                for (size_t k = 0; k < order[li]->compliance[c].nban; k++) {
                    const char *w = order[li]->compliance[c].ban[k];
                    memset(&r, 0, sizeof r);
                    r.kind = RULE_BANNED_WORD;
                    r.restriction = text;
                    snprintf(r.value, sizeof r.value, "%s", w);
                    text_normalize(w, strlen(w), r.folded);
                    int dup = !r.folded[0];
                    for (size_t j = 0; j < rs->n && !dup; j++)
                        dup = rs->rules[j].kind == RULE_BANNED_WORD && strcmp(rs->rules[j].folded, r.folded) == 0;
                    if (!dup) add_rule(rs, &r);
                }
            }
        if (norm != small) free(norm);
    }
    for (size_t i = 0; i < b->brand_voice.dont_use.n; i++) {
        const char *w = b->brand_voice.dont_use.items[i];
        rule_t r;
        memset(&r, 0, sizeof r);
        r.kind = RULE_BANNED_WORD;
        r.restriction = w;
        r.from_dont_use = 1;
        size_t len = strlen(w);
        if (len >= RULE_VALUE_MAX) {
            if (rs->n_not_understood < RULES_MAX) rs->not_understood[rs->n_not_understood++] = w;
            continue;
        }
        snprintf(r.value, sizeof r.value, "%s", w);
        text_normalize(w, len, r.folded);
        if (!r.folded[0]) continue;
        add_rule(rs, &r);
    }
}

/* Folds into a stack buffer when small, the heap otherwise. */
typedef struct folded {
    char small[1024];
    char *p;
    size_t len;
} folded_t;

static int fold_into(folded_t *f, const char *s, size_t n) {
    f->p = n < sizeof f->small ? f->small : malloc(n + 1);
    if (!f->p) { f->len = 0; return -1; }
    f->len = text_fold(s, n, f->p);
    return 0;
}

static void fold_done(folded_t *f) {
    if (f->p && f->p != f->small) free(f->p);
    f->p = NULL;
}

static int is_word_byte(unsigned char c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); /* isalnum without the locale lookup */
}

static int price_in_folded(const rules_lang_t *l, const char *f, size_t n) {
    int digits = memchr(f, '0', n) || memchr(f, '1', n) || memchr(f, '2', n) || memchr(f, '3', n) ||
                 memchr(f, '4', n) || memchr(f, '5', n) || memchr(f, '6', n) || memchr(f, '7', n) ||
                 memchr(f, '8', n) || memchr(f, '9', n);
    /* a percentage: digits then optional space then '%' */
    for (size_t i = 0; digits && i < n; i++) {
        if (f[i] != '%') continue;
        size_t j = i;
        if (j > 0 && f[j - 1] == ' ') j--;
        if (j > 0 && isdigit((unsigned char)f[j - 1])) return 1;
    }
    if (!l) return 0;
    /* one pass over the words ('-' joins: "sugar-free" is not "free"),
     * each looked up in the sorted list; multi-word entries the slow way */
    char w[48];
    for (size_t i = 0; i < n;) {
        while (i < n && !(is_word_byte((unsigned char)f[i]) || f[i] == '-')) i++;
        size_t st = i;
        while (i < n && (is_word_byte((unsigned char)f[i]) || f[i] == '-')) i++;
        size_t wl = i - st;
        if (!wl || wl >= sizeof w) continue;
        memcpy(w, f + st, wl);
        w[wl] = '\0';
        const char *key = w;
        if (bsearch(&key, l->price_words.v, l->price_words.n, sizeof *l->price_words.v, cmp_str)) return 1;
    }
    for (size_t i = 0; i < l->price_words.n; i++)
        if (strchr(l->price_words.v[i], ' ') && text_has_word(f, n, l->price_words.v[i], 0, 1)) return 1;
    /* currency code with a number right before or after it */
    for (size_t c = 0; digits && c < l->currency_codes.n; c++) {
        const char *code = l->currency_codes.v[c];
        size_t cl = strlen(code);
        for (size_t i = 0; i + cl <= n; i++) {
            if (memcmp(f + i, code, cl) != 0) continue;
            if (i > 0 && is_word_byte((unsigned char)f[i - 1]) && !isdigit((unsigned char)f[i - 1])) continue;
            if (i + cl < n && is_word_byte((unsigned char)f[i + cl]) && !isdigit((unsigned char)f[i + cl])) continue;
            size_t a = i;
            while (a > 0 && f[a - 1] == ' ') a--;
            size_t z = i + cl;
            while (z < n && f[z] == ' ') z++;
            if ((a > 0 && isdigit((unsigned char)f[a - 1])) || (z < n && isdigit((unsigned char)f[z]))) return 1;
        }
    }
    return 0;
}

static int currency_symbol(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '$') return 1;
        if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x82 && (unsigned char)s[i + 2] == 0xAC) return 1; /* € */
        if (c == 0xC2 && i + 1 < n && ((unsigned char)s[i + 1] == 0xA3 || (unsigned char)s[i + 1] == 0xA5)) return 1; /* £ ¥ */
    }
    return 0;
}

int rules_has_price(const rules_lang_t *l, const char *s, size_t n) {
    if (currency_symbol(s, n)) return 1;
    folded_t f;
    if (fold_into(&f, s, n) < 0) return 0;
    int r = price_in_folded(l, f.p, f.len);
    fold_done(&f);
    return r;
}

static int has_exclamation(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '!') return 1;
        if ((unsigned char)s[i] == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA1) return 1; /* ¡ */
    }
    return 0;
}

static const rule_t *banned_in(const ruleset_t *rs, const char *f, size_t n) {
    if (!rs->n_banned) return NULL;
    for (size_t i = 0; i < rs->n; i++)
        if (rs->rules[i].kind == RULE_BANNED_WORD && text_has_word(f, n, rs->rules[i].folded, 1, 0))
            return &rs->rules[i];
    return NULL;
}

int rules_text_allowed(const ruleset_t *rs, const char *s, size_t n) {
    if (rs->no_exclamation && has_exclamation(s, n)) return 0;
    if (rs->no_emoji && text_has_emoji(s, n)) return 0;
    if (!rs->no_price && !rs->n_banned) return 1;
    if (rs->no_price && currency_symbol(s, n)) return 0;
    folded_t f;
    if (fold_into(&f, s, n) < 0) return 0;
    int ok = !(rs->no_price && price_in_folded(rs->lang, f.p, f.len)) && !banned_in(rs, f.p, f.len);
    fold_done(&f);
    return ok;
}

static void add_violation(rule_violation_t *out, size_t max, size_t *n, rule_kind_t k, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add_violation(rule_violation_t *out, size_t max, size_t *n, rule_kind_t k, const char *fmt, ...) {
    if (*n < max) {
        va_list ap;
        va_start(ap, fmt);
        out[*n].kind = k;
        vsnprintf(out[*n].detail, sizeof out[*n].detail, fmt, ap);
        va_end(ap);
    }
    (*n)++;
}

size_t rules_check(const ruleset_t *rs, const rules_subject_t *v, rule_violation_t *out, size_t max) {
    size_t nv = 0;
    const char *names[4] = {"headline", "primary_text", "call_to_action", "hashtags"};
    const char *texts[3] = {v->headline ? v->headline : "", v->primary_text ? v->primary_text : "",
                            v->call_to_action ? v->call_to_action : ""};
    for (int fi = 0; fi < 4; fi++) {
        size_t count = fi < 3 ? 1 : v->n_hashtags;
        for (size_t h = 0; h < count; h++) {
            const char *s = fi < 3 ? texts[fi] : v->hashtags[h];
            size_t n = strlen(s);
            if (!n) continue;
            if (rs->no_emoji && text_has_emoji(s, n))
                add_violation(out, max, &nv, RULE_NO_EMOJI, "emoji in %s", names[fi]);
            if (rs->no_exclamation && has_exclamation(s, n))
                add_violation(out, max, &nv, RULE_NO_EXCLAMATION, "exclamation mark in %s", names[fi]);
            if (rs->no_hashtags && fi < 3) {
                for (size_t i = 0; i + 1 < n; i++)
                    if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\n') && is_word_byte((unsigned char)s[i + 1])) {
                        add_violation(out, max, &nv, RULE_NO_HASHTAGS, "hashtag in %s", names[fi]);
                        break;
                    }
            }
            if (!rs->no_price && !rs->n_banned) continue;
            folded_t f;
            if (fold_into(&f, s, n) < 0) continue;
            if (rs->no_price && (currency_symbol(s, n) || price_in_folded(rs->lang, f.p, f.len)))
                add_violation(out, max, &nv, RULE_NO_PRICE, "price mention in %s", names[fi]);
            for (size_t i = 0; i < rs->n; i++)
                if (rs->rules[i].kind == RULE_BANNED_WORD && text_has_word(f.p, f.len, rs->rules[i].folded, 1, 0))
                    add_violation(out, max, &nv, RULE_BANNED_WORD, "'%s' in %s", rs->rules[i].value, names[fi]);
            fold_done(&f);
        }
    }
    if (rs->no_hashtags && v->n_hashtags)
        add_violation(out, max, &nv, RULE_NO_HASHTAGS, "%zu hashtags given", v->n_hashtags);
    if (rs->max_words && v->words > rs->max_words)
        add_violation(out, max, &nv, RULE_MAX_WORDS, "%ld words, at most %ld allowed", v->words, rs->max_words);
    if (rs->max_chars && v->chars > rs->max_chars)
        add_violation(out, max, &nv, RULE_MAX_CHARS, "%ld characters, at most %ld allowed", v->chars, rs->max_chars);
    return nv;
}
