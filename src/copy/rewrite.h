/* rewrite.h -- rewriting a finished copy text (legacy /refactor and
 * /optimiza routes).
 *
 * REWRITE_REFACTOR keeps the message and cleans the form: white space,
 * words repeated by mistake ("the the"), doubled punctuation, spaces before
 * punctuation, sentence capitals, and sentences over 30 words split at the
 * comma nearest their middle. REWRITE_OPTIMIZE does the same and then
 * makes the text more platform-fit: it ends with a call to action when it
 * has none (the CTA phrases come from the data files). */
#ifndef COPYD_COPY_REWRITE_H
#define COPYD_COPY_REWRITE_H

#include <stddef.h>

typedef enum { REWRITE_REFACTOR = 0, REWRITE_OPTIMIZE = 1 } rewrite_mode_t;

typedef struct rewrite_stats {
    unsigned repeated_words_removed;
    unsigned punctuation_fixed;
    unsigned sentences_split;
    unsigned whitespace_fixed;
    int cta_added;
} rewrite_stats_t;

/* Returns the rewritten text (malloc'd, caller frees) or NULL when out of
 * memory. `cta` is the call to action to append in optimize mode when the
 * text ends without one (NULL: none). Input must be valid UTF-8. */
char *copy_rewrite(const char *text, rewrite_mode_t mode, const char *cta, rewrite_stats_t *stats);

#endif
