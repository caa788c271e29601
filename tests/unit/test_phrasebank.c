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
    /* "[Un diseño|Un trabajo|Un acabado] [pensado al detalle|...|hecho para durar|...]": every combination is there */
    const pb_lang_t *es = copy_data_lang(d, "es");
    CHECK(es != NULL);
    if (es) {
        CHECK(phrase_has(es, "Un diseño pensado al detalle") || phrase_has(es, "Un diseño pensado al detalle."));
        CHECK(phrase_has(es, "Un acabado hecho para durar") || phrase_has(es, "Un acabado hecho para durar."));
    }
    copy_data_free(d);

    /* a broken alternative fails the load and names the file */
    char tmp[] = "/tmp/copyd-test-pb-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp -r '%s'/. '%s'/ && sed -i '0,/\\[Un diseño|/s//[Un diseño|[Un trabajo|/' '%s/es/phrases.json'",
             data_dir(), tmp, tmp);
    CHECK(system(cmd) == 0);
    copy_data_t *bad = copy_data_load(tmp, err, sizeof err);
    CHECK(bad == NULL);
    CHECK(strstr(err, "es/phrases.json") != NULL);
    if (bad) copy_data_free(bad);
    /* each of these breaks the copy in one way; the load fails naming the
     * file and what is wrong (the copy is restored between cases) */
    /* (the edits are Python with Q for a double quote) */
    static const struct { const char *file, *edit, *says; } broken[] = {
        /* a tone group named like a tone: a slot key would mean two things */
        {"es/phrases.json", "s=s.replace(Q+'bold'+Q+':', Q+'urgent'+Q+':', 1)", "tone's name"},
        /* a key written twice: one of the two lists would be lost */
        {"es/phrases.json", "s=s.replace('{', '{'+Q+'comment'+Q+': '+Q+'x'+Q+',', 1)", "duplicate"},
        /* a use case SPEC section 2 does not have */
        {"es/use_cases.json", "s=json.dumps({'slots': {'cta': {'app_downlod': ['Baja']}}})", "not a use case"},
        /* use case phrases for a slot phrases.json does not have */
        {"es/use_cases.json", "s=json.dumps({'slots': {'ctaa': {'app_download': ['Baja']}}})", "slot of phrases.json"},
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        snprintf(cmd, sizeof cmd,
                 "rm -rf '%s' && mkdir -p '%s' && cp -r '%s'/. '%s'/ && python3 -c \"import sys; p=sys.argv[1]; "
                 "import os, json; Q=chr(34); s=open(p).read() if os.path.exists(p) else ''; %s; open(p,'w').write(s)\" '%s/%s'",
                 tmp, tmp, data_dir(), tmp, broken[i].edit, tmp, broken[i].file);
        CHECK(system(cmd) == 0);
        err[0] = '\0';
        copy_data_t *b2 = copy_data_load(tmp, err, sizeof err);
        CHECK(b2 == NULL);
        if (b2) copy_data_free(b2);
        if (!strstr(err, broken[i].file) || !strstr(err, broken[i].says))
            fprintf(stderr, "case %zu: error does not name %s and '%s': %s\n", i, broken[i].file, broken[i].says, err);
        CHECK(strstr(err, broken[i].file) != NULL);
        CHECK(strstr(err, broken[i].says) != NULL);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    TEST_DONE();
}
