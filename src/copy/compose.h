/* compose.h -- the template generator: brief + phrase bank -> output object.
 *
 * For each variant it picks a persuasion framework (AIDA, PAS, FAB, BAB, 4U
 * ... as listed in the language's phrases.json), walks its parts, fills
 * phrases of the brief's tone group with the brief's words, adds the key
 * points as a list, a headline, a call to action and hashtags, then fits the
 * result to the platform (data/platforms.json), max_length/min_length and the
 * restriction rules by dropping the least important parts first and key
 * points last (those dropped are reported). Brief text is inserted only where
 * grammar cannot break: the product never carries verb agreement, key points
 * go in lists or after a colon, verbatim.
 *
 * Determinism: all choices come from a hash of the brief's content, so the
 * same brief gives the same variants. Variant i uses framework i (mod the
 * pool), and creativity (0..1) widens both the framework pool and the share
 * of each phrase list that may be picked. Variants are kept pairwise
 * different.
 *
 * Layout of a post as published (what character_count counts): headline,
 * primary text, call to action and the hashtags (space separated) joined by
 * blank lines ("\n\n"), empty parts left out. */
#ifndef COPYD_COPY_COMPOSE_H
#define COPYD_COPY_COMPOSE_H

#include <stdint.h>

#include "api/brief.h"
#include "copy/phrasebank.h"
#include "core/buf.h"

/* 64-bit hash of everything in the brief that shapes the copy (the fields
 * brief_cache_key() covers, minus engine and model). */
uint64_t compose_brief_hash(const brief_t *b);

/* Appends the output object of SPEC section 3 for `b` in `lang` to `out`
 * (no tracking_id; extra_metadata last, so the text ends in "}}"), and sets
 * *tokens to the words written. `model` is reported as model_used. Returns 0,
 * or -1 when memory ran out. Thread-safe: `d` is only read. */
int compose_output(const copy_data_t *d, const pb_lang_t *lang, const brief_t *b, const char *model,
                   buf_t *out, unsigned *tokens);

#endif
