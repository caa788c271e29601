/* test_score.c -- syllable counters, readability formulas, engagement. */
#include <string.h>

#include "copy/score.h"
#include "test.h"

static int es(const char *w) { return syllables_es(w, strlen(w)); }
static int en(const char *w) { return syllables_en(w, strlen(w)); }

static double read_of(const char *lang, const char *text) {
    text_stats_t st = {0, 0, 0};
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

    /* sentence and word counting */
    text_stats_t st = {0, 0, 0};
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
    text_stats_t empty = {0, 0, 0};
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
