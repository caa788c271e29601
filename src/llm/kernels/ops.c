/* ops.c -- element-wise kernels: norms, softmax, rotary embedding, SwiGLU.
 * The float operations follow llama2.c's run.c in order and form, so the
 * stories260K model reproduces run.c's numbers. */
#include "llm/kernels/kernels.h"

#include <math.h>

void k_rmsnorm(float *o, const float *x, const float *w, int n, float eps) {
    float ss = 0.0f;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    ss /= (float)n;
    ss += eps;
    ss = 1.0f / sqrtf(ss);
    for (int i = 0; i < n; i++) o[i] = w[i] * (ss * x[i]);
}

void k_softmax(float *x, int n) {
    float max = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    for (int i = 0; i < n; i++) x[i] /= sum;
}

void k_rope(float *v, int n_rot, int pos, float base, float scale, int neox) {
    int half = n_rot / 2;
    for (int j = 0; j < half; j++) {
        float freq = 1.0f / powf(base, (float)(2 * j) / (float)n_rot);
        float angle = (float)pos * scale * freq;
        float c = cosf(angle), s = sinf(angle);
        int a = neox ? j : 2 * j;
        int b = neox ? j + half : 2 * j + 1;
        float v0 = v[a], v1 = v[b];
        v[a] = v0 * c - v1 * s;
        v[b] = v0 * s + v1 * c;
    }
}

void k_rope_table(float *cs, int n_rot, int pos, float base, float scale) {
    int half = n_rot / 2;
    for (int j = 0; j < half; j++) {
        float freq = 1.0f / powf(base, (float)(2 * j) / (float)n_rot);
        float angle = (float)pos * scale * freq;
        cs[2 * j] = cosf(angle);
        cs[2 * j + 1] = sinf(angle);
    }
}

void k_rope_apply(float *v, const float *cs, int n_rot, int neox) {
    int half = n_rot / 2;
    for (int j = 0; j < half; j++) {
        float c = cs[2 * j], s = cs[2 * j + 1];
        int a = neox ? j : 2 * j;
        int b = neox ? j + half : 2 * j + 1;
        float v0 = v[a], v1 = v[b];
        v[a] = v0 * c - v1 * s;
        v[b] = v0 * s + v1 * c;
    }
}

void k_swiglu(float *g, const float *u, int n) {
    for (int i = 0; i < n; i++) {
        float x = g[i];
        x *= 1.0f / (1.0f + expf(-x));
        g[i] = x * u[i];
    }
}

void k_add(float *y, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += x[i];
}
