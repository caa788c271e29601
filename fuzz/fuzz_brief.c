/* fuzz_brief.c -- any bytes through the whole brief pipeline.
 *
 * brief_json_parse -> brief_from_json -> brief_cache_key and
 * brief_canonical_json, with an arena per input so everything is freed.
 * A JSON array is treated as a batch: each element is a brief. Beyond "no
 * crash, no leak, no UB" it checks the contracts callers rely on:
 * - a parse error comes with a one-line, non-empty message;
 * - a rejected brief has at least one problem and n <= total;
 * - an accepted brief's canonical JSON is itself a valid brief with the same
 *   canonical text and the same cache key (stored jobs are re-read that way). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/brief.h"

#define EXPECT(c) do { if (!(c)) __builtin_trap(); } while (0)

static void check_brief(const json_t *j, arena_t *a) {
    brief_t b, b2;
    brief_problems_t pr, pr2;
    if (brief_from_json(j, a, &b, &pr) != 0) {
        EXPECT(pr.n >= 1 && pr.n <= BRIEF_MAX_PROBLEMS && pr.total >= pr.n);
        for (size_t i = 0; i < pr.n; i++)
            EXPECT(pr.items[i].type[0] && pr.items[i].msg[0] && memchr(pr.items[i].msg, '\0', sizeof pr.items[i].msg));
        return;
    }
    EXPECT(pr.n == 0 && b.product_description && b.product_description[0]);
    char k1[BRIEF_KEY_LEN], k2[BRIEF_KEY_LEN];
    brief_cache_key(&b, "template", "default", k1);
    EXPECT(strlen(k1) == 32 && strspn(k1, "0123456789abcdef") == 32);
    const char *canon = brief_canonical_json(&b, a);
    EXPECT(canon != NULL);
    json_t *cj = NULL;
    char msg[256];
    EXPECT(brief_json_parse(canon, strlen(canon), &cj, msg, sizeof msg) == 0);
    EXPECT(brief_from_json(cj, a, &b2, &pr2) == 0);
    brief_cache_key(&b2, "template", "default", k2);
    EXPECT(strcmp(k1, k2) == 0);
    EXPECT(strcmp(canon, brief_canonical_json(&b2, a)) == 0);
    json_decref(cj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *root = NULL;
    char msg[256];
    if (brief_json_parse((const char *)data, size, &root, msg, sizeof msg) != 0) {
        EXPECT(root == NULL && msg[0] && strchr(msg, '\n') == NULL);
        return 0;
    }
    arena_t a = ARENA_INIT;
    if (json_is_array(root)) {
        size_t i;
        json_t *item;
        json_array_foreach(root, i, item) {
            if (i >= 32) break;
            check_brief(item, &a);
        }
    } else {
        check_brief(root, &a);
    }
    arena_free(&a);
    json_decref(root);
    return 0;
}
