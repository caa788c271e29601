#include "copy/rewrite.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* Words are compared byte-wise ASCII-case-insensitively: enough to catch
 * "the the" and "de de"; accented capitals are left alone. */
static int same_word(const char *a, size_t al, const char *b, size_t bl) {
    if (al != bl) return 0;
    for (size_t i = 0; i < al; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
    return 1;
}

static int is_word_byte(unsigned char c) { return isalnum(c) || c >= 0x80 || c == '\'' || c == '-'; }

static int is_end(char c) { return c == '.' || c == '!' || c == '?'; }

/* A token that is a link or an address: "https://...", "www....", "a@b.c". */
static int is_link(const char *s) {
    size_t n = strcspn(s, " \n\t");
    for (size_t k = 0; k + 2 < n; k++)
        if (s[k] == ':' && s[k + 1] == '/' && s[k + 2] == '/') return 1;
    if (strncmp(s, "www.", 4) == 0) return 1;
    const char *at = memchr(s, '@', n);
    return at && at > s && memchr(at, '.', n - (size_t)(at - s)) != NULL;
}

/* Sentence ends: terminal marks followed by white space or the end; an
 * ellipsis ("...") does not end a sentence. */
static int ends_sentence(const char *s, size_t k, size_t n) {
    if (!is_end(s[k]) || (k > 0 && is_end(s[k - 1]))) return 0; /* judged at the run's start */
    size_t j = k;
    while (j < n && is_end(s[j])) j++;
    if (j - k >= 3 && s[k] == '.' && s[j - 1] == '.') {
        /* "..." mid-sentence when followed by a lower-case ASCII letter */
        if (j + 1 < n && s[j] == ' ' && s[j + 1] >= 'a' && s[j + 1] <= 'z') return 0;
    }
    return j == n || s[j] == ' ' || s[j] == '\n';
}

/* Pass 1: spaces, repeated words, doubled punctuation, space before marks. */
static void clean(const char *s, buf_t *out, rewrite_stats_t *st) {
    const char *prev_word = NULL;
    size_t prev_len = 0;
    int pending_space = 0, pending_newlines = 0;
    size_t i = 0, n = strlen(s);
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            if (pending_space) st->whitespace_fixed++;
            pending_space = 1;
            i++;
            continue;
        }
        if (c == '\n') {
            pending_newlines++;
            pending_space = 0;
            i++;
            continue;
        }
        if (is_word_byte(c) && is_link(s + i)) { /* URLs and e-mails pass verbatim */
            size_t j = i;
            while (j < n && s[j] != ' ' && s[j] != '\n' && s[j] != '\t') j++;
            while (j > i + 1 && (s[j - 1] == '.' || s[j - 1] == ',')) j--; /* a final mark is punctuation */
            if (out->len) {
                if (pending_newlines) buf_puts(out, pending_newlines > 1 ? "\n\n" : "\n");
                else buf_putc(out, ' ');
            }
            pending_space = pending_newlines = 0;
            prev_word = NULL;
            buf_append(out, s + i, j - i);
            i = j;
            continue;
        }
        if (is_word_byte(c)) {
            size_t j = i;
            while (j < n && is_word_byte((unsigned char)s[j])) j++;
            if (prev_word && !pending_newlines && same_word(prev_word, prev_len, s + i, j - i) &&
                !isdigit((unsigned char)s[i])) {
                st->repeated_words_removed++;
                pending_space = 0;
                i = j;
                continue;
            }
            if (out->len) {
                if (pending_newlines) buf_puts(out, pending_newlines > 1 ? "\n\n" : "\n");
                else if (pending_space || is_end(out->p[out->len - 1]) || out->p[out->len - 1] == ',')
                    buf_putc(out, ' ');
            }
            pending_space = pending_newlines = 0;
            prev_word = s + i;
            prev_len = j - i;
            buf_append(out, s + i, j - i);
            i = j;
            continue;
        }
        /* punctuation and symbols */
        if ((c == ',' || c == ';' || c == ':' || is_end((char)c)) && out->len) {
            char last = out->p[out->len - 1];
            if (pending_space && !pending_newlines) st->punctuation_fixed++;
            /* "!!!" -> "!", ",," -> ","; an ellipsis "..." is kept */
            if (last == (char)c && !(c == '.' && i + 1 < n && s[i + 1] == '.') &&
                !(c == '.' && out->len >= 2 && out->p[out->len - 2] == '.')) {
                st->punctuation_fixed++;
                i++;
                pending_space = 0;
                continue;
            }
            if (pending_newlines) buf_puts(out, pending_newlines > 1 ? "\n\n" : "\n");
            pending_space = pending_newlines = 0;
            buf_putc(out, (char)c);
            if (c != '.' && c != ',') prev_word = NULL;
            i++;
            continue;
        }
        if (out->len) {
            if (pending_newlines) buf_puts(out, pending_newlines > 1 ? "\n\n" : "\n");
            else if (pending_space) buf_putc(out, ' ');
        }
        pending_space = pending_newlines = 0;
        prev_word = NULL;
        buf_putc(out, (char)c);
        i++;
    }
}

/* Pass 2: capital letter at each sentence start (ASCII letters), and long
 * sentences split at their middle comma. */
static void sentences(const char *s, buf_t *out, rewrite_stats_t *st) {
    size_t n = strlen(s), start = 0;
    while (start < n) {
        size_t end = start;
        while (end < n && !ends_sentence(s, end, n) && s[end] != '\n') end++;
        while (end < n && is_end(s[end])) end++;
        /* count words and find the comma nearest the middle */
        unsigned words = 0;
        for (size_t k = start; k < end; k++)
            if (is_word_byte((unsigned char)s[k]) && (k == start || !is_word_byte((unsigned char)s[k - 1]))) words++;
        size_t split = 0;
        if (words > 30) {
            size_t mid = start + (end - start) / 2, best = (size_t)-1;
            for (size_t k = start; k < end; k++)
                if (s[k] == ',' && k + 1 < end && s[k + 1] == ' ') {
                    size_t d = k > mid ? k - mid : mid - k;
                    if (d < best) best = d, split = k;
                }
        }
        int cap = 1;
        for (size_t k = start; k < end; k++) {
            char c = s[k];
            if (split && k == split) {
                buf_putc(out, '.');
                st->sentences_split++;
                cap = 1;
                continue;
            }
            if (cap && isalpha((unsigned char)c)) {
                c = (char)toupper((unsigned char)c);
                cap = 0;
            } else if (cap && (unsigned char)c >= 0x80) {
                cap = 0; /* leave non-ASCII letters as written */
            } else if (cap && isdigit((unsigned char)c)) {
                cap = 0;
            }
            buf_putc(out, c);
        }
        if (end < n && s[end] == '\n') {
            buf_putc(out, '\n');
            end++;
        }
        start = end;
    }
}

static int ends_with_cta(const char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n')) n--;
    /* An ending question or exclamation already asks for something; a URL
     * or an @handle points somewhere. */
    if (n && (s[n - 1] == '!' || s[n - 1] == '?')) return 1;
    const char *last_space = NULL;
    for (size_t k = 0; k < n; k++)
        if (s[k] == ' ' || s[k] == '\n') last_space = s + k;
    const char *w = last_space ? last_space + 1 : s;
    return strncmp(w, "http", 4) == 0 || w[0] == '@' || w[0] == '#';
}

char *copy_rewrite(const char *text, rewrite_mode_t mode, const char *cta, rewrite_stats_t *st) {
    rewrite_stats_t dummy;
    if (!st) st = &dummy;
    memset(st, 0, sizeof *st);
    buf_t a = BUF_INIT, b = BUF_INIT;
    clean(text, &a, st);
    buf_putc(&a, '\0'); /* ensure p exists */
    sentences(a.p, &b, st);
    buf_free(&a);
    if (mode == REWRITE_OPTIMIZE && cta && *cta && !ends_with_cta(b.p ? b.p : "")) {
        if (b.len && !is_end(b.p[b.len - 1])) buf_putc(&b, '.');
        if (b.len) buf_putc(&b, ' ');
        buf_puts(&b, cta);
        if (!is_end(b.p[b.len - 1])) buf_putc(&b, '.');
        st->cta_added = 1;
    }
    if (!b.p) buf_puts(&b, "");
    return buf_detach(&b, NULL);
}
