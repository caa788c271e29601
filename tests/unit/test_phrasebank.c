/* test_phrasebank.c -- loading the phrase banks: "[a|b]" alternatives are
 * expanded into every combination, no markup survives into a phrase, and a
 * broken line fails the load with the file named. Uses the real data/ and a
 * broken copy of it in a temporary folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "copy/phrasebank.h"
#include "test.h"

static const char *data_dir(void) {
    static char path[1024];
    const char *src = getenv("COPYD_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/data", src ? src : ".");
    return path;
}

static int phrase_has(const pb_lang_t *L, const char *text) {
    for (int s = 0; s < L->nslots; s++)
        for (int g = 0; g < PB_LISTS; g++)
            for (unsigned i = 0; i < L->slots[s].n[g]; i++)
                if (strcmp(L->slots[s].items[g][i].text, text) == 0) return 1;
    return 0;
}

int main(void) {
    char err[512];
    copy_data_t *d = copy_data_load(data_dir(), err, sizeof err);
    CHECK(d != NULL);
    if (!d) {
        fprintf(stderr, "load: %s\n", err);
        TEST_DONE();
    }
    /* no expansion markup, doubled or edge spaces survive */
    int clean = 1;
    size_t total = 0;
    for (size_t l = 0; l < d->nlangs; l++) {
        const pb_lang_t *L = d->langs[l];
        for (int s = 0; s < L->nslots; s++)
            for (int g = 0; g < PB_LISTS; g++)
                for (unsigned i = 0; i < L->slots[s].n[g]; i++) {
                    const char *t = L->slots[s].items[g][i].text;
                    size_t n = strlen(t);
                    total++;
                    if (strpbrk(t, "[]|") || strstr(t, "  ") || (n && (t[0] == ' ' || t[n - 1] == ' '))) {
                        if (clean) fprintf(stderr, "unclean phrase (%s): '%s'\n", L->code, t);
                        clean = 0;
                    }
                }
    }
    CHECK(clean);
    CHECK(total > 10000); /* the alternatives multiply the written lines */
    /* "[Pensado|Hecho|Diseñado|Creado] [al detalle|con cuidado|...]": every combination is there */
    const pb_lang_t *es = copy_data_lang(d, "es");
    CHECK(es != NULL);
    if (es) {
        CHECK(phrase_has(es, "Pensado al detalle") || phrase_has(es, "Pensado al detalle."));
        CHECK(phrase_has(es, "Creado para durar") || phrase_has(es, "Creado para durar."));
    }
    copy_data_free(d);

    /* a broken alternative fails the load and names the file */
    char tmp[] = "/tmp/copyd-test-pb-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp -r '%s'/. '%s'/ && sed -i '0,/\\[Pensado|/s//[Pensado|[Hecho|/' '%s/es/phrases.json'",
             data_dir(), tmp, tmp);
    CHECK(system(cmd) == 0);
    copy_data_t *bad = copy_data_load(tmp, err, sizeof err);
    CHECK(bad == NULL);
    CHECK(strstr(err, "es/phrases.json") != NULL);
    if (bad) copy_data_free(bad);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    TEST_DONE();
}
