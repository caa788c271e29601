/* arena.h -- bump allocator for per-request memory.
 *
 * A request allocates freely from its arena and frees everything at once
 * when the answer is sent: no per-object ownership to track, no leaks on
 * error paths. Allocation returns NULL only when memory runs out. */
#ifndef COPYD_CORE_ARENA_H
#define COPYD_CORE_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block_t;
typedef struct arena {
    arena_block_t *head; /* newest block first */
} arena_t;

#define ARENA_INIT {NULL}

void *arena_alloc(arena_t *a, size_t size);            /* 16-byte aligned, zeroed */
char *arena_strdup(arena_t *a, const char *s);
char *arena_strndup(arena_t *a, const char *s, size_t n);
void arena_free(arena_t *a);                           /* frees every block */

#endif
