/* simd.h -- private to kernels/: the per-instruction-set implementations
 * behind k_dot_kernel(), k_quantize_q8_0() and friends. Each SIMD function
 * is compiled with a function-level target attribute, so the library still
 * runs on any x86-64; it is only called after cpuid said the CPU has it. */
#ifndef COPYD_LLM_KERNELS_SIMD_H
#define COPYD_LLM_KERNELS_SIMD_H

#include "llm/kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define K_X86 1
#define K_AVX2 __attribute__((target("avx2,fma,f16c")))
#define K_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#else
#define K_X86 0
#endif

float k_dot_q8_0_ref(const void *w, const void *x, int n);
float k_dot_q4_0_ref(const void *w, const void *x, int n);
float k_dot_f32_ref(const void *w, const void *x, int n);
float k_dot_f16_ref(const void *w, const void *x, int n);
float k_dot_bf16_ref(const void *w, const void *x, int n);
#if K_X86
void k_quantize_q8_0_avx2(void *dst, const float *x, int n);
float k_dot_q8_0_avx2(const void *w, const void *x, int n);
float k_dot_q8_0_avx512(const void *w, const void *x, int n);
float k_dot_q4_0_avx2(const void *w, const void *x, int n);
float k_dot_q4_0_avx512(const void *w, const void *x, int n);
float k_dot_f32_avx2(const void *w, const void *x, int n);
float k_dot_f16_avx2(const void *w, const void *x, int n);
float k_dot_bf16_avx2(const void *w, const void *x, int n);
void k_axpy_avx2(float *y, float a, const float *x, int n);
#endif

#endif
