/* test_score.c -- syllable counters, readability formulas, engagement. */
#include <stdio.h>
#include <string.h>

#include "copy/score.h"
#include "test.h"

static int es(const char *w) { return syllables_es(w, strlen(w)); }
static int en(const char *w) { return syllables_en(w, strlen(w)); }

static int syl(const char *lang, const char *w) { return syllables_for(lang, w, strlen(w)); }

/* Readability of `text` against a value computed by hand from the formula
 * of score.h (counts written next to each call). */
static void read_is(const char *lang, const char *text, double want, long words, long sentences, long syllables) {
    text_stats_t st = {0};
    text_stats_add(lang, text, strlen(text), &st);
    double got = readability_score(lang, &st);
    if (st.words != words || st.sentences != sentences || (syllables >= 0 && st.syllables != syllables) ||
        got < want - 0.01 || got > want + 0.01) {
        test_failed++;
        fprintf(stderr, "FAIL readability %s \"%s\": %.3f (w=%ld s=%ld syl=%ld), expected %.3f (w=%ld s=%ld syl=%ld)\n", lang,
                text, got, st.words, st.sentences, st.syllables, want, words, sentences, syllables);
    } else test_passed++;
}

static double read_of(const char *lang, const char *text) {
    text_stats_t st = {0};
    text_stats_add(lang, text, strlen(text), &st);
    return readability_score(lang, &st);
}

int main(void) {
    /* Spanish: diphthongs join, hiatus splits, accents break diphthongs */
    CHECK(es("computadora") == 5);
    CHECK(es("teléfono") == 4);
    CHECK(es("ciudad") == 2);
    CHECK(es("aéreo") == 4);
    CHECK(es("casa") == 2);
    CHECK(es("día") == 2);      /* í + a: hiatus */
    CHECK(es("bueno") == 2);    /* ue: diphthong */
    CHECK(es("país") == 2);
    CHECK(es("hoy") == 1);      /* final y joins the nucleus */
    CHECK(es("y") == 1);
    CHECK(es("Comodidad") == 4);
    CHECK(es("10") == 0);       /* no letters: not a word for the counter */

    /* English: vowel groups, silent e, -le, -ed */
    CHECK(en("beautiful") == 3);
    CHECK(en("table") == 2);
    CHECK(en("make") == 1);
    CHECK(en("readability") == 5);
    CHECK(en("the") == 1);
    CHECK(en("cat") == 1);
    CHECK(en("designed") == 2);
    CHECK(en("wanted") == 2);

    /* Portuguese: nasal vowels join, accented i/u break, glides open a syllable */
    CHECK(syl("pt", "coração") == 3);
    CHECK(syl("pt", "informação") == 4);
    CHECK(syl("pt", "saúde") == 3);
    CHECK(syl("pt", "pão") == 1);
    CHECK(syl("pt", "mãe") == 1);
    CHECK(syl("pt", "leite") == 2);
    CHECK(syl("pt", "escritório") == 4);
    CHECK(syl("pt", "ergonômica") == 5);
    CHECK(syl("pt", "cadeira") == 3);
    CHECK(syl("pt", "quatro") == 2);

    /* Italian */
    CHECK(syl("it", "zaino") == 2);
    CHECK(syl("it", "leggero") == 3);
    CHECK(syl("it", "impermeabile") == 6);
    CHECK(syl("it", "aiuto") == 3);
    CHECK(syl("it", "più") == 1);
    CHECK(syl("it", "perché") == 2);
    CHECK(syl("it", "città") == 2);
    CHECK(syl("it", "italiano") == 4);
    CHECK(syl("it", "giorno") == 2);
    CHECK(syl("it", "qualità") == 3);

    /* French: mute final e, é/è/ê/ï alone, qu/gu */
    CHECK(syl("fr", "bonjour") == 2);
    CHECK(syl("fr", "maison") == 2);
    CHECK(syl("fr", "téléphone") == 3);
    CHECK(syl("fr", "école") == 2);
    CHECK(syl("fr", "réalité") == 4);
    CHECK(syl("fr", "ordinateur") == 4);
    CHECK(syl("fr", "application") == 4);
    CHECK(syl("fr", "dépenses") == 2);
    CHECK(syl("fr", "aujourd'hui") == 3);
    CHECK(syl("fr", "réunion") == 3);
    CHECK(syl("fr", "année") == 2);
    CHECK(syl("fr", "guide") == 1);

    /* German: only the digraphs join */
    CHECK(syl("de", "Haus") == 1);
    CHECK(syl("de", "Kinder") == 2);
    CHECK(syl("de", "Schokolade") == 4);
    CHECK(syl("de", "Kopfhörer") == 3);
    CHECK(syl("de", "Freude") == 2);
    CHECK(syl("de", "Theater") == 3);
    CHECK(syl("de", "Universität") == 5);
    CHECK(syl("de", "Qualität") == 3);
    CHECK(syl("de", "Familie") == 3);
    CHECK(syl("de", "Bauer") == 2);
    CHECK(syl("de", "schön") == 1);

    /* the dispatcher: Spanish and English counters, English for the rest */
    CHECK(syl("es", "aéreo") == 4 && syl("en", "table") == 2 && syl("nl", "table") == 2);

    /* readability against hand-computed values
     * es  Fernández-Huerta: 206.84 - 0.60*(16/8*100) - 1.02*(8/2)      = 82.76
     * en  Flesch: 206.835 - 1.015*7 - 84.6*(12/7)                       = 54.701
     * pt  Martins: 248.835 - 1.015*(8/2) - 84.6*(22/8)                  = 12.125
     * fr  Kandel-Moles: 207 - 1.015*7 - 73.6*(15/7)                     = 42.181
     * de  Amstad: 180 - 6 - 58.5*(14/6)                                 = 37.5
     * it  Gulpease: 89 + (300*1 - 10*45)/5                              = 59 */
    read_is("es", "El teléfono nuevo funciona bien. Me gusta mucho.", 82.76, 8, 2, 16);
    read_is("en", "We need clear and simple information today.", 54.701429, 7, 1, 12);
    read_is("pt", "A informação chegou ontem. O computador funciona perfeitamente.", 12.125, 8, 2, 22);
    read_is("fr", "L'application permet une gestion personnelle des dépenses.", 42.180714, 7, 1, 15);
    read_is("de", "Die nachhaltige Trinkflasche besteht aus Edelstahl.", 37.5, 6, 1, 14);
    read_is("it", "L'impermeabilità dello zaino garantisce protezione.", 59.0, 5, 1, -1);
    {
        text_stats_t st = {0};
        const char *t = "L'impermeabilità dello zaino garantisce protezione.";
        text_stats_add("it", t, strlen(t), &st);
        CHECK(st.letters == 45); /* apostrophe and full stop are not letters, "à" is */
    }
    /* clamped to 0..100 in every language */
    CHECK(read_of("de", "Ja. Nein. Gut.") == 100);
    CHECK(read_of("it", "Sì. No.") == 100);
    CHECK(read_of("pt", "Inconstitucionalissimamente.") == 0);

    /* sentence and word counting */
    text_stats_t st = {0};
    const char *t = "Hola. ¿Qué tal?\n• Comodidad\n• Estilo";
    text_stats_add("es", t, strlen(t), &st);
    CHECK(st.words == 5);     /* the bullets are not words */
    CHECK(st.sentences == 4); /* two sentences + two list lines */

    /* readability: simple beats complex, in both languages, within 0..100 */
    double es_simple = read_of("es", "El sol sale. La casa es mía. Me gusta el mar.");
    double es_complex = read_of("es", "La implementación metodológica de infraestructuras tecnológicas interdisciplinarias "
                                      "requiere consideraciones organizacionales extraordinariamente complejas.");
    CHECK(es_simple > es_complex);
    CHECK(es_simple <= 100 && es_complex >= 0);
    double en_simple = read_of("en", "The cat sat on the mat. It was warm. We like it.");
    double en_complex = read_of("en", "Organizational implementation of interdisciplinary technological infrastructure "
                                      "necessitates extraordinarily sophisticated considerations.");
    CHECK(en_simple > en_complex);
    CHECK(en_simple > 80);
    CHECK(en_complex < 20);
    text_stats_t empty = {0};
    CHECK(readability_score("en", &empty) == 0);

    /* engagement: features behave as documented */
    engagement_in_t in;
    memset(&in, 0, sizeof in);
    in.text_chars = 150; in.text_ideal[0] = 100; in.text_ideal[1] = 300;
    in.has_cta = 1; in.hook_question = 1; in.key_points_total = 2; in.key_points_present = 2;
    in.readability = 65; in.hashtags = 2; in.hashtags_ideal[0] = 1; in.hashtags_ideal[1] = 3; in.compliant = 1;
    double f[ENG__COUNT];
    double full = engagement_predict(&in, f);
    CHECK(full > 0.999 && full <= 1.0);
    in.has_cta = 0;
    in.key_points_present = 1;
    in.compliant = 0;
    double worse = engagement_predict(&in, f);
    CHECK(worse < full);
    CHECK(f[ENG_CTA_PRESENT] == 0.0);
    CHECK(f[ENG_KEY_POINT_COVERAGE] == 0.5);
    in.hashtags_ideal[0] = in.hashtags_ideal[1] = 0; /* platform without hashtags */
    engagement_predict(&in, f);
    CHECK(f[ENG_HASHTAG_FIT] == 0.0);
    CHECK_STR(engagement_feature_names[ENG_LENGTH_FIT], "length_fit");
    TEST_DONE();
}
