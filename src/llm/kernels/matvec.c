/* matvec.c -- dot products, matrix x vector, row lookup. */
#include "llm/kernels/kernels.h"

#include <string.h>

#include "llm/quant.h"

float k_dot(const float *a, const float *b, int n) {
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

int k_matvec(float *y, const void *w, ggml_type_t type, int rows, int cols,
             const float *x, float *rowbuf) {
    if (type == GGML_TYPE_F32) {
        const float *wf = w;
        for (int r = 0; r < rows; r++) y[r] = k_dot(wf + (size_t)r * cols, x, cols);
        return 0;
    }
    uint64_t rb = ggml_row_bytes(type, (uint64_t)cols);
    if (rb == 0) return -1;
    const unsigned char *wb = w;
    for (int r = 0; r < rows; r++) {
        /* One exact dequantisation per row, then a plain f32 dot: the same
         * numbers as a model converted to F32 beforehand. */
        if (dequantize_row(type, wb + (size_t)r * rb, rowbuf, cols) != 0) return -1;
        y[r] = k_dot(rowbuf, x, cols);
    }
    return 0;
}

int k_get_row(float *dst, const void *w, ggml_type_t type, int cols, int64_t row) {
    if (type == GGML_TYPE_F32) {
        memcpy(dst, (const float *)w + (size_t)row * cols, (size_t)cols * sizeof(float));
        return 0;
    }
    uint64_t rb = ggml_row_bytes(type, (uint64_t)cols);
    if (rb == 0) return -1;
    return dequantize_row(type, (const unsigned char *)w + (size_t)row * rb, dst, cols);
}
