/* test_rules.c -- restriction parsing (es/en phrasings -> rule kinds) and
 * the checker, against the real data/<lang>/restrictions.json files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/rules.h"
#include "test.h"

static const rules_lang_t *langs[2];

static void expect(const char *text, int understood, rule_kind_t kind, const char *value) {
    rule_t r;
    int ok = rules_parse_one(langs, 2, text, &r);
    if (ok != understood) {
        test_failed++;
        fprintf(stderr, "FAIL \"%s\": understood=%d, expected %d\n", text, ok, understood);
        return;
    }
    test_passed++;
    if (!understood) return;
    if (r.kind != kind) {
        test_failed++;
        fprintf(stderr, "FAIL \"%s\": rule %s, expected %s\n", text, rule_kind_name(r.kind), rule_kind_name(kind));
        return;
    }
    test_passed++;
    if (value) CHECK_STR(r.value, value);
    CHECK(r.restriction == text);
}

static size_t check(const ruleset_t *rs, const char *h, const char *t, const char *cta, const char *const *tags,
                    size_t ntags, rule_violation_t *v) {
    rules_subject_t s = {h, t, cta, tags, ntags, 10, 100};
    return rules_check(rs, &s, v, 8);
}

int main(void) {
    const char *src = getenv("COPYD_SOURCE_DIR");
    char pes[1024], pen[1024], err[512];
    snprintf(pes, sizeof pes, "%s/data/es/restrictions.json", src ? src : ".");
    snprintf(pen, sizeof pen, "%s/data/en/restrictions.json", src ? src : ".");
    rules_lang_t *les = rules_lang_load(pes, err, sizeof err);
    if (!les) fprintf(stderr, "%s\n", err);
    rules_lang_t *len = rules_lang_load(pen, err, sizeof err);
    if (!len) fprintf(stderr, "%s\n", err);
    CHECK(les && len);
    if (!les || !len) TEST_DONE();
    langs[0] = les;
    langs[1] = len;

    /* a broken file is named in the error */
    CHECK(rules_lang_load("/nonexistent/xx/restrictions.json", err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/xx/restrictions.json") != NULL);

    /* parsing table */
    expect("no mencionar precio", 1, RULE_NO_PRICE, NULL);
    expect("No mencionar el precio.", 1, RULE_NO_PRICE, NULL);
    expect("sin precios", 1, RULE_NO_PRICE, NULL);
    expect("no price mentions", 1, RULE_NO_PRICE, NULL);
    expect("No prices", 1, RULE_NO_PRICE, NULL);
    expect("Don't mention pricing or discounts", 1, RULE_NO_PRICE, NULL);
    expect("evitar hablar de descuentos", 1, RULE_NO_PRICE, NULL);
    expect("sin emojis", 1, RULE_NO_EMOJI, NULL);
    expect("No emojis!", 1, RULE_NO_EMOJI, NULL);
    expect("no hashtags", 1, RULE_NO_HASHTAGS, NULL);
    expect("sin hashtags", 1, RULE_NO_HASHTAGS, NULL);
    expect("sin signos de exclamación", 1, RULE_NO_EXCLAMATION, NULL);
    expect("no exclamation marks", 1, RULE_NO_EXCLAMATION, NULL);
    expect("máximo 50 palabras", 1, RULE_MAX_WORDS, "50");
    expect("max 40 words", 1, RULE_MAX_WORDS, "40");
    expect("máximo 200 caracteres", 1, RULE_MAX_CHARS, "200");
    expect("Max. 120 characters", 1, RULE_MAX_CHARS, "120");
    expect("evitar la palabra barato", 1, RULE_BANNED_WORD, "barato");
    expect("avoid the word healthy", 1, RULE_BANNED_WORD, "healthy");
    expect("Avoid the word 'Healthy'", 1, RULE_BANNED_WORD, "Healthy");
    expect("no usar tecnología", 1, RULE_BANNED_WORD, "tecnología");
    expect("don't use synergy", 1, RULE_BANNED_WORD, "synergy");
    expect("no competencia", 1, RULE_BANNED_WORD, "competencia");
    expect("sin azúcar", 1, RULE_BANNED_WORD, "azúcar");
    expect("avoid jargon", 1, RULE_BANNED_WORD, "jargon");
    expect("evitar anglicismos", 1, RULE_BANNED_WORD, "anglicismos");
    expect("no mencionar a la competencia", 1, RULE_BANNED_WORD, "competencia");
    /* not understood: kept, never turned into something else */
    expect("Mantener un tono respetuoso", 0, RULE_NO_PRICE, NULL);
    expect("Cumplir la normativa europea de publicidad", 0, RULE_NO_PRICE, NULL);
    expect("no uses un lenguaje demasiado técnico con los clientes", 0, RULE_NO_PRICE, NULL);
    expect("", 0, RULE_NO_PRICE, NULL);

    /* ruleset from a brief: restrictions + brand_voice.dont_use */
    brief_t b;
    memset(&b, 0, sizeof b);
    const char *restr[] = {"no mencionar precio", "sin emojis", "avoid the word healthy", "Hablar bonito", "max 30 words",
                           "no exclamation marks", "no hashtags"};
    const char *dont[] = {"barato"};
    b.restrictions.items = restr;
    b.restrictions.n = 7;
    b.brand_voice.dont_use.items = dont;
    b.brand_voice.dont_use.n = 1;
    ruleset_t rs;
    rules_build(&rs, langs, 2, les, &b);
    CHECK(rs.no_price && rs.no_emoji && rs.no_exclamation && rs.no_hashtags);
    CHECK(rs.max_words == 30);
    CHECK(rs.n_banned == 2);
    CHECK(rs.n == 7); /* 6 understood restrictions + 1 dont_use */
    CHECK(rs.n_not_understood == 1);
    CHECK_STR(rs.not_understood[0], "Hablar bonito");

    /* checker */
    rule_violation_t v[8];
    CHECK(check(&rs, "Zapatos nuevos", "Comodidad y estilo para cada día.", "Descubre más", NULL, 0, v) == 0);
    CHECK(check(&rs, "Zapatos", "Ahora con un 20% de descuento.", "Ver", NULL, 0, v) >= 1 && v[0].kind == RULE_NO_PRICE);
    CHECK(check(&rs, "Zapatos", "Solo 49 €", "Ver", NULL, 0, v) == 1 && v[0].kind == RULE_NO_PRICE);
    CHECK(check(&rs, "Zapatos", "Desde 30 EUR", "Ver", NULL, 0, v) == 1 && v[0].kind == RULE_NO_PRICE);
    CHECK(check(&rs, "Zapatos", "Envío GRATIS", "Ver", NULL, 0, v) == 1);
    CHECK(check(&rs, "Zapatos ✨", "Texto", "Ver", NULL, 0, v) == 1 && v[0].kind == RULE_NO_EMOJI);
    CHECK(check(&rs, "Zapatos", "¡Qué bien!", "Ver", NULL, 0, v) == 1 && v[0].kind == RULE_NO_EXCLAMATION);
    CHECK(check(&rs, "Zapatos", "Muy HEALTHY y rico", "Ver", NULL, 0, v) == 1 && v[0].kind == RULE_BANNED_WORD);
    CHECK(strstr(v[0].detail, "healthy") && strstr(v[0].detail, "primary_text"));
    CHECK(check(&rs, "Zapatos", "Unhealthy no, healthier tampoco", "Ver", NULL, 0, v) == 0); /* whole words only */
    CHECK(check(&rs, "Baratos y buenos", "Texto", "Ver", NULL, 0, v) >= 1);                 /* plural + accent-free */
    const char *tags[] = {"#Zapatos"};
    CHECK(check(&rs, "Zapatos", "Texto", "Ver", tags, 1, v) == 1 && v[0].kind == RULE_NO_HASHTAGS);
    CHECK(check(&rs, "Zapatos", "Texto #moda aquí", "Ver", NULL, 0, v) == 1 && v[0].kind == RULE_NO_HASHTAGS);
    rules_subject_t s = {"Zapatos", "Texto", "Ver", NULL, 0, 31, 100};
    CHECK(rules_check(&rs, &s, v, 8) == 1 && v[0].kind == RULE_MAX_WORDS);

    /* price detection details */
    CHECK(rules_has_price(len, "Only $5", 7));
    CHECK(rules_has_price(len, "Get a discount", 14));
    CHECK(rules_has_price(len, "It costs 10 usd", 15));
    CHECK(!rules_has_price(len, "Sugar-free and vegan", 20)); /* "free" inside a compound */
    CHECK(!rules_has_price(len, "Battery lasts 10 days", 21));
    CHECK(!rules_has_price(les, "Batería de 10 días", strlen("Batería de 10 días")));
    CHECK(rules_text_allowed(&rs, "Comodidad", 9));
    CHECK(!rules_text_allowed(&rs, "Precio justo", 12));

    rules_lang_free(les);
    rules_lang_free(len);
    TEST_DONE();
}
