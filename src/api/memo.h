/* memo.h -- remembers which cache key a request body maps to.
 *
 * Parsing and validating a brief costs more than the cache lookup it leads
 * to. A client repeating a request sends the same bytes, and the same bytes
 * always make the same brief, so the memo maps a 128-bit hash of the body
 * (and the engine and model it was asked of) straight to the brief's cache
 * key and tracking id. A memo hit skips the parser; a memo miss, or a memo
 * hit whose cache entry has expired, takes the normal path.
 *
 * A fixed direct-mapped table: a new body takes its slot's place, so memory
 * is bounded and there is no eviction list. Thread-safe (lock stripes). */
#ifndef COPYD_API_MEMO_H
#define COPYD_API_MEMO_H

#include <stddef.h>

#include "api/brief.h"

typedef struct memo memo_t;

#define MEMO_TID_MAX 208 /* tracking ids up to 200 bytes are remembered */

memo_t *memo_create(size_t slots);
void memo_destroy(memo_t *m);
/* 1 and the key and tracking id ("" when the body has none) when known. */
int memo_get(memo_t *m, const char *body, size_t len, const char *scope, char key[BRIEF_KEY_LEN],
             char tid[MEMO_TID_MAX]);
void memo_put(memo_t *m, const char *body, size_t len, const char *scope, const char *key, const char *tid);
void memo_clear(memo_t *m);

#endif
