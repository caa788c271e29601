/* gguf.h -- reading GGUF model files (versions 2 and 3).
 *
 * A GGUF file is a header, a list of key/value pairs (metadata: architecture,
 * sizes, tokenizer vocabulary...), a list of tensor descriptions, then the
 * tensor data at an aligned offset. gguf_open() reads the WHOLE file into
 * anonymous memory (not mmap: on this platform mmap'd weights get evicted
 * and decoding becomes many times slower), then parses it.
 *
 * Every count, length, offset and extent is validated against the file size
 * before it is used: a corrupt or truncated file yields NULL and a message
 * naming what is wrong ("tensor 'blk.0.attn_q.weight': data [offset 1024,
 * +4096 bytes] runs past the end of the file (3000 bytes)"), never a crash.
 *
 * Everything returned points into the gguf_t and lives until gguf_close().
 * Strings in GGUF are length-prefixed, not NUL-terminated: gguf_str_t holds
 * both; the parser also NUL-terminates a private copy of each key and
 * tensor name so they can be used as C strings. */
#ifndef COPYD_LLM_GGUF_H
#define COPYD_LLM_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Metadata value types (GGUF spec numbering). */
typedef enum {
    GGUF_TYPE_UINT8 = 0, GGUF_TYPE_INT8 = 1, GGUF_TYPE_UINT16 = 2, GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4, GGUF_TYPE_INT32 = 5, GGUF_TYPE_FLOAT32 = 6, GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8, GGUF_TYPE_ARRAY = 9, GGUF_TYPE_UINT64 = 10, GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12, GGUF_TYPE__COUNT
} gguf_vtype_t;

/* Tensor element types (ggml numbering). The ones copyd computes with are
 * listed in quant.h; others parse but cannot be used. */
typedef enum {
    GGML_TYPE_F32 = 0, GGML_TYPE_F16 = 1, GGML_TYPE_Q4_0 = 2, GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6, GGML_TYPE_Q5_1 = 7, GGML_TYPE_Q8_0 = 8, GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10, GGML_TYPE_Q3_K = 11, GGML_TYPE_Q4_K = 12, GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14, GGML_TYPE_Q8_K = 15, GGML_TYPE_BF16 = 30, GGML_TYPE__COUNT = 40
} ggml_type_t;

typedef struct gguf_str {
    const char *p;  /* NOT NUL-terminated */
    uint64_t len;
} gguf_str_t;

typedef struct gguf_kv {
    const char *key;          /* NUL-terminated copy */
    gguf_vtype_t type;
    /* scalars: the value, widened */
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
        int b;
        gguf_str_t str;
    } v;
    /* arrays (type == GGUF_TYPE_ARRAY): */
    gguf_vtype_t arr_type;
    uint64_t arr_n;
    const void *arr_data;     /* raw little-endian elements (numeric arrays) */
    gguf_str_t *arr_str;      /* string arrays: one entry per element */
} gguf_kv_t;

#define GGUF_MAX_DIMS 4

typedef struct gguf_tensor {
    const char *name;         /* NUL-terminated copy */
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* elements per dimension, ne[0] = row length; unused dims = 1 */
    ggml_type_t type;
    uint64_t offset;          /* from the start of the data section */
    uint64_t nbytes;          /* validated size of the data */
    const void *data;         /* into the loaded file */
} gguf_tensor_t;

typedef struct gguf {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv_t *kv;
    gguf_tensor_t *tensors;
    uint64_t alignment;       /* general.alignment, default 32 */
    const unsigned char *mem; /* the whole file */
    size_t size;
    int owns_mem;
    void *arena;              /* private: names, string tables */
} gguf_t;

/* Flags for gguf_open. */
#define GGUF_PROGRESS 1       /* draw a progress bar on stderr when it is a terminal */

gguf_t *gguf_open(const char *path, int flags, char *err, size_t errsz);
/* Parses `size` bytes already in memory (borrowed: must outlive the gguf_t).
 * Used by tests and the fuzzer. */
gguf_t *gguf_parse(const void *data, size_t size, char *err, size_t errsz);
void gguf_close(gguf_t *g);

const gguf_kv_t *gguf_find(const gguf_t *g, const char *key);
/* Typed lookups: 0 on success; -1 when the key is missing or its type does
 * not convert (integers convert between widths when the value fits). */
int gguf_get_u32(const gguf_t *g, const char *key, uint32_t *out);
int gguf_get_i64(const gguf_t *g, const char *key, int64_t *out);
int gguf_get_f32(const gguf_t *g, const char *key, float *out);
int gguf_get_bool(const gguf_t *g, const char *key, int *out);
int gguf_get_str(const gguf_t *g, const char *key, gguf_str_t *out);
/* The array under `key` if its element type is `type`; NULL otherwise. */
const gguf_kv_t *gguf_get_arr(const gguf_t *g, const char *key, gguf_vtype_t type);

const gguf_tensor_t *gguf_tensor(const gguf_t *g, const char *name);

const char *gguf_vtype_name(gguf_vtype_t t);

/* `copyd model info`: a human-readable summary of the file (format version,
 * architecture and its size keys, tensor count and a histogram of tensor
 * types, tokenizer model/pre/vocabulary size, chat template first line).
 * Returns 0, or -1 when writing to `out` failed. */
int gguf_print_info(const gguf_t *g, FILE *out);

#endif
