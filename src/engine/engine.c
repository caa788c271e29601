/* engine.c -- helpers shared by every engine (engine.h). */
#include "engine/engine.h"

#include <stdio.h>
#include <string.h>

int engine_speaks(const engine_t *e, const char *lang) {
    if (!e || !e->languages || !lang) return 0;
    for (const char *const *l = e->languages; *l; l++)
        if (strcmp(*l, lang) == 0) return 1;
    return 0;
}

void engine_language_list(const engine_t *e, char *out, size_t outsz) {
    if (!outsz) return;
    out[0] = '\0';
    if (!e || !e->languages) return;
    size_t len = 0;
    for (const char *const *l = e->languages; *l; l++) {
        int n = snprintf(out + len, outsz - len, "%s%s", l == e->languages ? "" : ", ", *l);
        if (n < 0 || (size_t)n >= outsz - len) break; /* keep what fitted */
        len += (size_t)n;
    }
}
