/* test_rewrite.c -- /refactor and /optimiza text rewriting. */
#include <stdlib.h>
#include <string.h>

#include "copy/rewrite.h"
#include "test.h"

static void expect(const char *in, rewrite_mode_t mode, const char *cta, const char *want) {
    rewrite_stats_t st;
    char *out = copy_rewrite(in, mode, cta, &st);
    CHECK_STR(out, want);
    free(out);
}

int main(void) {
    rewrite_stats_t st;
    expect("nuestro  nuevo nuevo café ,, es increíble", REWRITE_REFACTOR, NULL, "Nuestro nuevo café, es increíble");
    expect("the the best   coffee.it is fresh!!!", REWRITE_REFACTOR, NULL, "The best coffee. It is fresh!");
    expect("Wait... really?", REWRITE_REFACTOR, NULL, "Wait... really?");           /* ellipsis kept */
    expect("line one\n\n\n\nline two", REWRITE_REFACTOR, NULL, "Line one\n\nLine two");
    expect("2 2 cups", REWRITE_REFACTOR, NULL, "2 2 cups");                           /* numbers may repeat */
    expect("", REWRITE_REFACTOR, NULL, "");
    expect("our new coffee is great", REWRITE_OPTIMIZE, "Order today.", "Our new coffee is great. Order today.");
    expect("Is it great?", REWRITE_OPTIMIZE, "Order today.", "Is it great?");        /* already asks */
    expect("see https://x.example", REWRITE_OPTIMIZE, "Go.", "See https://x.example");
    expect("great coffee", REWRITE_OPTIMIZE, "Order now", "Great coffee. Order now.");

    char *out = copy_rewrite("buen buen café", REWRITE_REFACTOR, NULL, &st);
    CHECK(st.repeated_words_removed == 1 && st.cta_added == 0);
    free(out);

    /* a 40-word sentence with commas is split at the comma nearest its middle */
    const char *longs = "we roast every bean by hand in small batches every single morning, we taste each batch "
                        "before it leaves the shop, and we ship it the same day so that it reaches your door fresh "
                        "and full of flavour for you";
    out = copy_rewrite(longs, REWRITE_REFACTOR, NULL, &st);
    CHECK(st.sentences_split == 1);
    CHECK(strstr(out, "shop. And we ship") != NULL);
    free(out);

    /* bytes that are not ASCII pass through untouched */
    out = copy_rewrite("¡hola! ¿qué tal?", REWRITE_REFACTOR, NULL, &st);
    CHECK_STR(out, "¡hola! ¿qué tal?");
    free(out);
    TEST_DONE();
}
