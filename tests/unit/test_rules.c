/* test_rules.c -- restriction parsing (es/en phrasings -> rule kinds) and
 * the checker, against the real data/<lang>/restrictions.json files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy/rules.h"
#include "test.h"

/* es, en, fr, pt, it, de: the order brief_languages gives them */
#define NLANGS 6
static const char *const codes[NLANGS] = {"es", "en", "fr", "pt", "it", "de"};
static rules_lang_t *all[NLANGS];
static const rules_lang_t *langs[NLANGS];
static int first_lang; /* the copy's language: tried first, as rules_build does */

static void expect(const char *text, int understood, rule_kind_t kind, const char *value) {
    const rules_lang_t *order[NLANGS];
    size_t n = 0;
    order[n++] = all[first_lang];
    for (int i = 0; i < NLANGS; i++) if (i != first_lang) order[n++] = all[i];
    rule_t r;
    int ok = rules_parse_one(order, n, text, &r);
    if (ok != understood) {
        test_failed++;
        fprintf(stderr, "FAIL [%s] \"%s\": understood=%d (%s %s), expected %d\n", codes[first_lang], text, ok,
                ok ? rule_kind_name(r.kind) : "", ok ? r.value : "", understood);
        return;
    }
    test_passed++;
    if (!understood) return;
    if (r.kind != kind) {
        test_failed++;
        fprintf(stderr, "FAIL [%s] \"%s\": rule %s, expected %s\n", codes[first_lang], text, rule_kind_name(r.kind), rule_kind_name(kind));
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
    char path[1024], err[512];
    for (int i = 0; i < NLANGS; i++) {
        snprintf(path, sizeof path, "%s/data/%s/restrictions.json", src ? src : ".", codes[i]);
        all[i] = rules_lang_load(path, err, sizeof err);
        if (!all[i]) { fprintf(stderr, "%s\n", err); test_failed++; TEST_DONE(); }
        langs[i] = all[i];
    }
    rules_lang_t *les = all[0], *len = all[1];

    /* a broken file is named in the error */
    CHECK(rules_lang_load("/nonexistent/xx/restrictions.json", err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/xx/restrictions.json") != NULL);

    /* parsing table: Spanish and English */
    first_lang = 0;
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
    expect("la palabra «barato» está prohibida", 1, RULE_BANNED_WORD, "barato");
    expect("the word cheap is not allowed", 1, RULE_BANNED_WORD, "cheap");
    expect("avoid jargon", 1, RULE_BANNED_WORD, "jargon");
    expect("evitar anglicismos", 1, RULE_BANNED_WORD, "anglicismos");
    expect("no mencionar a la competencia", 1, RULE_BANNED_WORD, "competencia");
    /* not understood: kept, never turned into something else */
    expect("Mantener un tono respetuoso", 0, RULE_NO_PRICE, NULL);
    expect("Cumplir la normativa europea de publicidad", 0, RULE_NO_PRICE, NULL);
    expect("no uses un lenguaje demasiado técnico con los clientes", 0, RULE_NO_PRICE, NULL);
    expect("", 0, RULE_NO_PRICE, NULL);

    /* Portuguese */
    first_lang = 3;
    expect("não mencionar preço", 1, RULE_NO_PRICE, NULL);
    expect("Não mencionar os preços.", 1, RULE_NO_PRICE, NULL);
    expect("sem descontos nem promoções", 1, RULE_NO_PRICE, NULL);
    expect("sem emojis", 1, RULE_NO_EMOJI, NULL);
    expect("sem hashtags", 1, RULE_NO_HASHTAGS, NULL);
    expect("sem pontos de exclamação", 1, RULE_NO_EXCLAMATION, NULL);
    expect("no máximo 40 palavras", 1, RULE_MAX_WORDS, "40");
    expect("máximo 150 caracteres", 1, RULE_MAX_CHARS, "150");
    expect("100 caracteres no máximo", 1, RULE_MAX_CHARS, "100");
    expect("sem a palavra barato", 1, RULE_BANNED_WORD, "barato");
    expect("evitar a palavra \"revolucionário\"", 1, RULE_BANNED_WORD, "revolucionário");
    expect("não usar jargão", 1, RULE_BANNED_WORD, "jargão");
    expect("sem açúcar", 1, RULE_BANNED_WORD, "açúcar");
    expect("a palavra grátis é proibida", 1, RULE_BANNED_WORD, "grátis");
    expect("Manter um tom respeitoso", 0, RULE_NO_PRICE, NULL);
    expect("Seguir as normas de publicidade do país", 0, RULE_NO_PRICE, NULL);

    /* French */
    first_lang = 2;
    expect("ne pas mentionner le prix", 1, RULE_NO_PRICE, NULL);
    expect("Ne pas parler des prix !", 1, RULE_NO_PRICE, NULL);
    expect("aucune remise", 1, RULE_NO_PRICE, NULL);
    expect("sans emojis", 1, RULE_NO_EMOJI, NULL);
    expect("Pas d’émojis", 1, RULE_NO_EMOJI, NULL);
    expect("sans hashtags", 1, RULE_NO_HASHTAGS, NULL);
    expect("pas de points d'exclamation", 1, RULE_NO_EXCLAMATION, NULL);
    expect("50 mots maximum", 1, RULE_MAX_WORDS, "50");
    expect("au plus 200 caractères", 1, RULE_MAX_CHARS, "200");
    expect("ne pas utiliser le mot révolutionnaire", 1, RULE_BANNED_WORD, "révolutionnaire");
    expect("évitez le mot « bon marché »", 1, RULE_BANNED_WORD, "bon marché");
    expect("le mot « pas cher » est interdit", 1, RULE_BANNED_WORD, "pas cher");
    expect("le mot luxe interdit", 1, RULE_BANNED_WORD, "luxe");
    expect("sans sucre", 1, RULE_BANNED_WORD, "sucre");
    expect("Garder un ton respectueux", 0, RULE_NO_PRICE, NULL);
    expect("Respecter la loi Évin", 0, RULE_NO_PRICE, NULL);

    /* Italian */
    first_lang = 4;
    expect("non menzionare il prezzo", 1, RULE_NO_PRICE, NULL);
    expect("Niente sconti", 1, RULE_NO_PRICE, NULL);
    expect("senza emoji", 1, RULE_NO_EMOJI, NULL);
    expect("niente hashtag", 1, RULE_NO_HASHTAGS, NULL);
    expect("senza punti esclamativi", 1, RULE_NO_EXCLAMATION, NULL);
    expect("massimo 30 parole", 1, RULE_MAX_WORDS, "30");
    expect("120 caratteri al massimo", 1, RULE_MAX_CHARS, "120");
    expect("evitare la parola economico", 1, RULE_BANNED_WORD, "economico");
    expect("evitare la parola 'rivoluzionario'", 1, RULE_BANNED_WORD, "rivoluzionario");
    expect("non usare l'aggettivo", 1, RULE_BANNED_WORD, "aggettivo");
    expect("la parola lusso è vietata", 1, RULE_BANNED_WORD, "lusso");
    expect("Mantenere un tono rispettoso", 0, RULE_NO_PRICE, NULL);
    expect("Rispettare il codice di autodisciplina", 0, RULE_NO_PRICE, NULL);

    /* German */
    first_lang = 5;
    expect("keine Preise erwähnen", 1, RULE_NO_PRICE, NULL);
    expect("Preise nicht erwähnen", 1, RULE_NO_PRICE, NULL);
    expect("keine Rabatte", 1, RULE_NO_PRICE, NULL);
    expect("keine Emojis", 1, RULE_NO_EMOJI, NULL);
    expect("ohne Hashtags", 1, RULE_NO_HASHTAGS, NULL);
    expect("keine Ausrufezeichen", 1, RULE_NO_EXCLAMATION, NULL);
    expect("maximal 50 Wörter", 1, RULE_MAX_WORDS, "50");
    expect("höchstens 280 Zeichen", 1, RULE_MAX_CHARS, "280");
    expect("80 Wörter maximal", 1, RULE_MAX_WORDS, "80");
    expect("keine Wörter billig", 1, RULE_BANNED_WORD, "billig");
    expect("das Wort „revolutionär“ vermeiden", 1, RULE_BANNED_WORD, "revolutionär");
    expect("kein Wort Zucker verwenden", 1, RULE_BANNED_WORD, "Zucker");
    expect("Fachjargon vermeiden", 1, RULE_BANNED_WORD, "Fachjargon");
    expect("ohne Zucker", 1, RULE_BANNED_WORD, "Zucker");
    expect("Du-Form verwenden", 0, RULE_NO_PRICE, NULL);       /* an instruction, not a ban */
    expect("Nicht zu förmlich schreiben", 0, RULE_NO_PRICE, NULL);
    expect("Einen respektvollen Ton beibehalten", 0, RULE_NO_PRICE, NULL);

    /* a restriction in another language than the copy's is still read */
    first_lang = 0;
    expect("keine Emojis", 1, RULE_NO_EMOJI, NULL);
    expect("ne pas mentionner le prix", 1, RULE_NO_PRICE, NULL);

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
    rules_build(&rs, langs, NLANGS, les, &b);
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

    /* compliance requirements: listed, and mapped to banned word families
     * by the "compliance" table of the copy's language (or another's) */
    brief_t bc;
    memset(&bc, 0, sizeof bc);
    const char *comp[] = {"No prometer resultados garantizados", "Do not claim it cures insomnia", "Citar siempre la fuente"};
    bc.compliance_requirements.items = comp;
    bc.compliance_requirements.n = 3;
    ruleset_t rc;
    rules_build(&rc, langs, NLANGS, les, &bc);
    size_t ncomp = 0, from_first = 0, from_second = 0;
    for (size_t i = 0; i < rc.n; i++) {
        if (rc.rules[i].kind == RULE_COMPLIANCE) ncomp++;
        if (rc.rules[i].kind == RULE_BANNED_WORD && rc.rules[i].restriction == comp[0]) from_first++;
        if (rc.rules[i].kind == RULE_BANNED_WORD && rc.rules[i].restriction == comp[1]) from_second++;
    }
    CHECK(ncomp == 3);                  /* each item reported, understood or not */
    CHECK(from_first >= 3 && from_second >= 2);
    CHECK_STR(rule_kind_name(RULE_COMPLIANCE), "compliance_requirement");
    CHECK(rc.no_price == 0 && rc.n_not_understood == 0);
    CHECK(check(&rc, "Resultados garantizados", "Texto", "Ver", NULL, 0, v) >= 1 && v[0].kind == RULE_BANNED_WORD);
    CHECK(check(&rc, "Con garantía total", "Texto", "Ver", NULL, 0, v) >= 1);
    CHECK(check(&rc, "Zapatos", "It cures everything", "Ver", NULL, 0, v) >= 1);
    CHECK(check(&rc, "Zapatos", "Procurar el descanso", "Ver", NULL, 0, v) == 0); /* "cura" only as a word */
    const char *comp2[] = {"Procurar un trato amable"};
    bc.compliance_requirements.items = comp2;
    bc.compliance_requirements.n = 1;
    rules_build(&rc, langs, NLANGS, les, &bc);
    CHECK(rc.n == 1 && rc.n_banned == 0); /* no word of the item starts with a mapped stem */

    /* price detection details */
    CHECK(rules_has_price(len, "Only $5", 7));
    CHECK(rules_has_price(len, "Get a discount", 14));
    CHECK(rules_has_price(len, "It costs 10 usd", 15));
    CHECK(!rules_has_price(len, "Sugar-free and vegan", 20)); /* "free" inside a compound */
    CHECK(!rules_has_price(len, "Battery lasts 10 days", 21));
    CHECK(!rules_has_price(les, "Batería de 10 días", strlen("Batería de 10 días")));
    CHECK(rules_text_allowed(&rs, "Comodidad", 9));
    CHECK(!rules_text_allowed(&rs, "Precio justo", 12));

    for (int i = 0; i < NLANGS; i++) rules_lang_free(all[i]);
    TEST_DONE();
}
