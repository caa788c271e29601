/* fuzz_gguf.c -- any bytes through the GGUF reader.
 *
 * gguf_parse() on the input, then a walk over everything a loader would
 * touch: every KV (scalars, every string of string arrays, every byte of
 * numeric arrays), every tensor's data (first and last byte, and the first
 * row dequantised when copyd can), lookups by name, and the info printer.
 * Beyond "no crash, no leak, no UB" it checks the contracts callers rely on:
 * a failure comes with a message; every pointer handed out lies inside the
 * input; lookups find each entry by its own name. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/gguf.h"
#include "llm/quant.h"

#define EXPECT(c) do { if (!(c)) __builtin_trap(); } while (0)

static int inside(const gguf_t *g, const void *p, uint64_t n) {
    const unsigned char *c = p;
    return c >= g->mem && c <= g->mem + g->size && n <= (uint64_t)(g->mem + g->size - c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *devnull;
    static float row[4096];
    if (!devnull) devnull = fopen("/dev/null", "w");

    char err[256] = "";
    gguf_t *g = gguf_parse(data, size, err, sizeof err);
    if (!g) {
        EXPECT(err[0] != '\0' && memchr(err, '\0', sizeof err));
        return 0;
    }
    volatile unsigned sink = 0;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv_t *kv = &g->kv[i];
        EXPECT(gguf_find(g, kv->key) == kv);
        if (kv->type == GGUF_TYPE_STRING) {
            EXPECT(inside(g, kv->v.str.p, kv->v.str.len));
        } else if (kv->type == GGUF_TYPE_ARRAY && kv->arr_type == GGUF_TYPE_STRING) {
            EXPECT(kv->arr_n == 0 || kv->arr_str);
            for (uint64_t k = 0; k < kv->arr_n; k++) {
                const gguf_str_t *s = &kv->arr_str[k];
                EXPECT(inside(g, s->p, s->len));
                if (s->len) sink += (unsigned char)s->p[0] + (unsigned char)s->p[s->len - 1];
            }
        } else if (kv->type == GGUF_TYPE_ARRAY) {
            EXPECT(kv->arr_type != GGUF_TYPE_ARRAY);
            uint64_t bytes = kv->arr_n * (kv->arr_type == GGUF_TYPE_UINT8 || kv->arr_type == GGUF_TYPE_INT8 ||
                                                  kv->arr_type == GGUF_TYPE_BOOL ? 1
                                          : kv->arr_type == GGUF_TYPE_UINT16 || kv->arr_type == GGUF_TYPE_INT16 ? 2
                                          : kv->arr_type == GGUF_TYPE_UINT64 || kv->arr_type == GGUF_TYPE_INT64 ||
                                                  kv->arr_type == GGUF_TYPE_FLOAT64 ? 8 : 4);
            EXPECT(inside(g, kv->arr_data, bytes));
            for (uint64_t k = 0; k < bytes; k++) sink += ((const unsigned char *)kv->arr_data)[k];
        }
    }
    uint32_t u;
    float f;
    EXPECT(gguf_get_u32(g, "general.alignment", &u) != 0 || u == g->alignment);
    (void)gguf_get_f32(g, "general.alignment", &f);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor_t *t = &g->tensors[i];
        const ggml_type_traits_t *tr = ggml_type_traits(t->type);
        EXPECT(gguf_tensor(g, t->name) == t);
        EXPECT(tr && t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS);
        EXPECT(t->nbytes > 0 && inside(g, t->data, t->nbytes));
        EXPECT(t->offset % g->alignment == 0);
        sink += ((const unsigned char *)t->data)[0] + ((const unsigned char *)t->data)[t->nbytes - 1];
        if (tr->can_dequantize && t->ne[0] <= 4096)
            EXPECT(dequantize_row(t->type, t->data, row, (int64_t)t->ne[0]) == 0);
    }
    if (devnull) gguf_print_info(g, devnull);
    (void)sink;
    gguf_close(g);
    return 0;
}
