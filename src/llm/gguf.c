/* gguf.c -- GGUF v2/v3 reader.
 *
 * The parser is a cursor over the bytes with one rule: nothing read from the
 * file is trusted before it has been checked against what is left of the
 * file. Counts are checked against the smallest size their items can have
 * before anything is allocated, and arrays grow with what has actually been
 * parsed, so a lying header costs at most a few bytes of memory per byte of
 * file. Everything the gguf_t points at lives in the file image or in one
 * private arena; gguf_close() frees both.
 *
 * Host byte order is assumed little-endian, like the files. */
#include "llm/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "llm/quant.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c reads little-endian files in place: big-endian hosts are not supported"
#endif

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
/* Smallest encodings, used to bound counts before allocating:
 * a KV is a key (8-byte length + >= 1 byte) + 4-byte type + >= 1 byte value;
 * a tensor info is a name (8 + >= 1) + n_dims (4) + >= 1 dim (8) + type (4)
 * + offset (8). */
#define MIN_KV_BYTES 14
#define MIN_TENSOR_BYTES 33

/* What gguf_t.arena points at: the arena plus hash indexes for lookups
 * (slot = index + 1, 0 = empty; open addressing, linear probing). */
typedef struct gguf_priv {
    arena_t arena;
    uint32_t *kv_idx, *t_idx;
    uint64_t kv_mask, t_mask;
} gguf_priv_t;

typedef struct rd {
    const unsigned char *p;
    uint64_t size, pos;
    char *err;
    size_t errsz;
} rd_t;

__attribute__((format(printf, 2, 3))) static int fail(rd_t *r, const char *fmt, ...) {
    if (r->err && r->errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

typedef unsigned long long ull;

static uint64_t left(const rd_t *r) { return r->size - r->pos; }

static int need(rd_t *r, uint64_t n, const char *what) {
    if (n > left(r))
        return fail(r, "truncated file: %s at offset %llu needs %llu bytes, but the file ends at %llu",
                    what, (ull)r->pos, (ull)n, (ull)r->size);
    return 0;
}

static int rd_u32(rd_t *r, uint32_t *v, const char *what) {
    if (need(r, 4, what)) return -1;
    memcpy(v, r->p + r->pos, 4);
    r->pos += 4;
    return 0;
}

static int rd_u64(rd_t *r, uint64_t *v, const char *what) {
    if (need(r, 8, what)) return -1;
    memcpy(v, r->p + r->pos, 8);
    r->pos += 8;
    return 0;
}

/* A length-prefixed string; `what` names it in messages. */
static int rd_str(rd_t *r, gguf_str_t *s, const char *what) {
    uint64_t at = r->pos, len;
    if (rd_u64(r, &len, what)) return -1;
    if (len > left(r))
        return fail(r, "%s: string at offset %llu: length %llu runs past the end of the file (%llu bytes)",
                    what, (ull)at, (ull)len, (ull)r->size);
    s->p = (const char *)r->p + r->pos;
    s->len = len;
    r->pos += len;
    return 0;
}

static size_t scalar_size(gguf_vtype_t t) {
    switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
    }
}

const char *gguf_vtype_name(gguf_vtype_t t) {
    static const char *names[GGUF_TYPE__COUNT] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
        "bool", "string", "array", "uint64", "int64", "float64"};
    return (unsigned)t < GGUF_TYPE__COUNT ? names[t] : "unknown";
}

/* Reads one scalar of type t at the cursor into kv->v (widened). */
static int rd_scalar(rd_t *r, gguf_kv_t *kv, gguf_vtype_t t) {
    const unsigned char *p = r->p + r->pos;
    uint64_t at = r->pos;
    if (need(r, scalar_size(t), "value")) return -1;
    r->pos += scalar_size(t);
    switch (t) {
    case GGUF_TYPE_UINT8: kv->v.u64 = p[0]; break;
    case GGUF_TYPE_INT8: kv->v.i64 = (int8_t)p[0]; break;
    case GGUF_TYPE_UINT16: { uint16_t x; memcpy(&x, p, 2); kv->v.u64 = x; break; }
    case GGUF_TYPE_INT16: { int16_t x; memcpy(&x, p, 2); kv->v.i64 = x; break; }
    case GGUF_TYPE_UINT32: { uint32_t x; memcpy(&x, p, 4); kv->v.u64 = x; break; }
    case GGUF_TYPE_INT32: { int32_t x; memcpy(&x, p, 4); kv->v.i64 = x; break; }
    case GGUF_TYPE_UINT64: memcpy(&kv->v.u64, p, 8); break;
    case GGUF_TYPE_INT64: memcpy(&kv->v.i64, p, 8); break;
    case GGUF_TYPE_FLOAT32: { float x; memcpy(&x, p, 4); kv->v.f64 = x; break; }
    case GGUF_TYPE_FLOAT64: memcpy(&kv->v.f64, p, 8); break;
    case GGUF_TYPE_BOOL:
        if (p[0] > 1) return fail(r, "key '%s': bool at offset %llu has value %u (must be 0 or 1)", kv->key, (ull)at, p[0]);
        kv->v.b = p[0];
        break;
    default: return -1;
    }
    return 0;
}

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Builds an index over n names; -1 with *dup = the duplicate's index. */
static int build_index(arena_t *a, uint64_t n, const char *(*name_of)(const gguf_t *, uint64_t),
                       const gguf_t *g, uint32_t **idx, uint64_t *mask, uint64_t *dup) {
    uint64_t cap = 8;
    while (cap < 2 * n) cap <<= 1;
    *idx = arena_alloc(a, cap * sizeof **idx);
    if (!*idx) { *dup = UINT64_MAX; return -1; }
    *mask = cap - 1;
    for (uint64_t i = 0; i < n; i++) {
        const char *s = name_of(g, i);
        uint64_t h = hash_name(s) & *mask;
        while ((*idx)[h]) {
            if (strcmp(name_of(g, (*idx)[h] - 1), s) == 0) { *dup = i; return -1; }
            h = (h + 1) & *mask;
        }
        (*idx)[h] = (uint32_t)(i + 1);
    }
    return 0;
}

static const char *kv_name(const gguf_t *g, uint64_t i) { return g->kv[i].key; }
static const char *tensor_name(const gguf_t *g, uint64_t i) { return g->tensors[i].name; }

/* A NUL-terminated arena copy of a key or tensor name; refuses embedded
 * NULs, which would make C-string lookups ambiguous. */
static const char *copy_name(rd_t *r, arena_t *a, gguf_str_t s, uint64_t at, const char *what) {
    if (s.len == 0) { fail(r, "%s at offset %llu is empty", what, (ull)at); return NULL; }
    if (memchr(s.p, '\0', s.len)) { fail(r, "%s at offset %llu contains a NUL byte", what, (ull)at); return NULL; }
    char *c = arena_strndup(a, s.p, s.len);
    if (!c) fail(r, "out of memory");
    return c;
}

/* Grows a malloc'd array to hold at least n+1 items. */
static int grow(void **arr, uint64_t *cap, uint64_t n, size_t item) {
    if (n < *cap) return 0;
    uint64_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * item);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static int parse_kv(rd_t *r, gguf_t *g, gguf_priv_t *pv, gguf_kv_t *kv) {
    char what[160];
    gguf_str_t ks;
    uint64_t at = r->pos;
    if (rd_str(r, &ks, "key")) return -1;
    if (!(kv->key = copy_name(r, &pv->arena, ks, at, "key"))) return -1;
    uint32_t t;
    snprintf(what, sizeof what, "key '%s': type", kv->key);
    if (rd_u32(r, &t, what)) return -1;
    if (t >= GGUF_TYPE__COUNT) return fail(r, "key '%s': unknown value type %u", kv->key, t);
    kv->type = (gguf_vtype_t)t;
    snprintf(what, sizeof what, "key '%s'", kv->key);
    if (t == GGUF_TYPE_STRING) return rd_str(r, &kv->v.str, what);
    if (t != GGUF_TYPE_ARRAY) return rd_scalar(r, kv, kv->type);

    uint32_t et;
    uint64_t n;
    snprintf(what, sizeof what, "key '%s': array header", kv->key);
    if (rd_u32(r, &et, what) || rd_u64(r, &n, what)) return -1;
    if (et == GGUF_TYPE_ARRAY) return fail(r, "key '%s': nested arrays are not supported", kv->key);
    if (et >= GGUF_TYPE__COUNT) return fail(r, "key '%s': unknown array element type %u", kv->key, et);
    kv->arr_type = (gguf_vtype_t)et;
    kv->arr_n = n;
    if (et != GGUF_TYPE_STRING) {
        size_t es = scalar_size(kv->arr_type);
        if (n > left(r) / es)
            return fail(r, "key '%s': array of %llu %s at offset %llu runs past the end of the file (%llu bytes)",
                        kv->key, (ull)n, gguf_vtype_name(kv->arr_type), (ull)r->pos, (ull)r->size);
        kv->arr_data = r->p + r->pos;
        r->pos += n * es;
        return 0;
    }
    /* String array. Each element takes at least its 8-byte length, which
     * bounds n; then one pass checks every length against the file before
     * the table (one arena block, no per-string allocation) is built by a
     * second, now trusted, pass. */
    if (n > left(r) / 8)
        return fail(r, "key '%s': array of %llu strings at offset %llu runs past the end of the file (%llu bytes)",
                    kv->key, (ull)n, (ull)r->pos, (ull)r->size);
    uint64_t start = r->pos;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len;
        if (left(r) >= 8) {
            memcpy(&len, r->p + r->pos, 8);
            if (len <= left(r) - 8) { r->pos += 8 + len; continue; }
        }
        /* the message is only built on failure: this loop runs 150k times
         * for a real vocabulary */
        gguf_str_t s;
        snprintf(what, sizeof what, "key '%s': element %llu", kv->key, (ull)i);
        return rd_str(r, &s, what);
    }
    kv->arr_data = r->p + start;
    if (n == 0) return 0;
    gguf_str_t *tab = arena_alloc(&pv->arena, n * sizeof *tab);
    if (!tab) return fail(r, "key '%s': out of memory for %llu strings", kv->key, (ull)n);
    const unsigned char *p = r->p + start;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len;
        memcpy(&len, p, 8);
        tab[i].p = (const char *)p + 8;
        tab[i].len = len;
        p += 8 + len;
    }
    kv->arr_str = tab;
    (void)g;
    return 0;
}

static int parse_tensor_info(rd_t *r, gguf_priv_t *pv, gguf_tensor_t *t) {
    char what[160];
    gguf_str_t ns;
    uint64_t at = r->pos;
    if (rd_str(r, &ns, "tensor name")) return -1;
    if (!(t->name = copy_name(r, &pv->arena, ns, at, "tensor name"))) return -1;
    snprintf(what, sizeof what, "tensor '%s': header", t->name);
    if (rd_u32(r, &t->n_dims, what)) return -1;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return fail(r, "tensor '%s': %u dimensions (must be 1..%d)", t->name, t->n_dims, GGUF_MAX_DIMS);
    uint64_t nel = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims) continue;
        if (rd_u64(r, &t->ne[d], what)) return -1;
        if (t->ne[d] == 0) return fail(r, "tensor '%s': dimension %u is 0", t->name, d);
        if (t->ne[d] > (uint64_t)INT64_MAX / nel)
            return fail(r, "tensor '%s': element count overflows (dimension %u is %llu)", t->name, d, (ull)t->ne[d]);
        nel *= t->ne[d];
    }
    uint32_t type;
    if (rd_u32(r, &type, what) || rd_u64(r, &t->offset, what)) return -1;
    const ggml_type_traits_t *tr = ggml_type_traits((ggml_type_t)type);
    if (!tr) return fail(r, "tensor '%s': unknown tensor type %u", t->name, type);
    t->type = (ggml_type_t)type;
    if (t->ne[0] % (uint64_t)tr->blck_size)
        return fail(r, "tensor '%s': row length %llu is not a multiple of the %s block size %d",
                    t->name, (ull)t->ne[0], tr->name, tr->blck_size);
    uint64_t row = ggml_row_bytes(t->type, t->ne[0]), rows = nel / t->ne[0];
    if (row == 0 || rows > UINT64_MAX / row)
        return fail(r, "tensor '%s': data size overflows", t->name);
    t->nbytes = row * rows;
    /* Cheap early bound (the exact check against the data section comes
     * once its start is known). */
    if (t->nbytes > r->size)
        return fail(r, "tensor '%s': %llu bytes of data cannot fit in a %llu-byte file",
                    t->name, (ull)t->nbytes, (ull)r->size);
    return 0;
}

static void priv_free(gguf_t *g) {
    gguf_priv_t *pv = g->arena;
    if (pv) {
        arena_free(&pv->arena);
        free(pv);
    }
    free(g->kv);
    free(g->tensors);
}

gguf_t *gguf_parse(const void *data, size_t size, char *err, size_t errsz) {
    rd_t r = {data, size, 0, err, errsz};
    if (err && errsz) err[0] = '\0';
    if (!data && size) { fail(&r, "no data"); return NULL; }
    if (size < 4) { fail(&r, "file too small to be GGUF (%zu bytes)", size); return NULL; }
    if (memcmp(data, GGUF_MAGIC, 4) != 0) {
        const unsigned char *m = data;
        fail(&r, "bad magic %02x %02x %02x %02x: not a GGUF file", m[0], m[1], m[2], m[3]);
        return NULL;
    }
    r.pos = 4;
    uint32_t version;
    if (rd_u32(&r, &version, "version")) return NULL;
    if (version != 2 && version != 3) {
        uint32_t sw = __builtin_bswap32(version);
        if (sw == 2 || sw == 3) fail(&r, "big-endian GGUF (version %u) is not supported", sw);
        else if (version == 1) fail(&r, "GGUF version 1 is not supported (only versions 2 and 3)");
        else fail(&r, "unsupported GGUF version %u (only versions 2 and 3)", version);
        return NULL;
    }
    uint64_t n_tensors, n_kv;
    if (rd_u64(&r, &n_tensors, "tensor count") || rd_u64(&r, &n_kv, "key/value count")) return NULL;
    if (n_kv > left(&r) / MIN_KV_BYTES || n_kv >= UINT32_MAX) {
        fail(&r, "key/value count %llu is impossible: only %llu bytes follow the header", (ull)n_kv, (ull)left(&r));
        return NULL;
    }
    if (n_tensors > (left(&r) - n_kv * MIN_KV_BYTES) / MIN_TENSOR_BYTES || n_tensors >= UINT32_MAX) {
        fail(&r, "tensor count %llu is impossible: only %llu bytes follow the header", (ull)n_tensors, (ull)left(&r));
        return NULL;
    }

    gguf_t *g = calloc(1, sizeof *g);
    gguf_priv_t *pv = calloc(1, sizeof *pv);
    if (!g || !pv) { free(g); free(pv); fail(&r, "out of memory"); return NULL; }
    g->arena = pv;
    g->version = version;
    g->mem = data;
    g->size = size;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;

    uint64_t cap = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        if (grow((void **)&g->kv, &cap, i, sizeof *g->kv)) { fail(&r, "out of memory"); goto bad; }
        memset(&g->kv[i], 0, sizeof g->kv[i]);
        if (parse_kv(&r, g, pv, &g->kv[i])) goto bad;
        g->n_kv = i + 1;
    }
    uint64_t dup;
    if (build_index(&pv->arena, g->n_kv, kv_name, g, &pv->kv_idx, &pv->kv_mask, &dup)) {
        if (dup == UINT64_MAX) fail(&r, "out of memory");
        else fail(&r, "duplicate key '%s'", g->kv[dup].key);
        goto bad;
    }

    const gguf_kv_t *al = gguf_find(g, "general.alignment");
    if (al) {
        uint32_t a;
        if (gguf_get_u32(g, "general.alignment", &a)) {
            fail(&r, "general.alignment has type %s (must be uint32)", gguf_vtype_name(al->type));
            goto bad;
        }
        if (a == 0 || (a & (a - 1))) { fail(&r, "general.alignment %u is not a power of two", a); goto bad; }
        g->alignment = a;
    }

    cap = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        if (grow((void **)&g->tensors, &cap, i, sizeof *g->tensors)) { fail(&r, "out of memory"); goto bad; }
        memset(&g->tensors[i], 0, sizeof g->tensors[i]);
        if (parse_tensor_info(&r, pv, &g->tensors[i])) goto bad;
        g->n_tensors = i + 1;
    }
    if (build_index(&pv->arena, g->n_tensors, tensor_name, g, &pv->t_idx, &pv->t_mask, &dup)) {
        if (dup == UINT64_MAX) fail(&r, "out of memory");
        else fail(&r, "duplicate tensor name '%s'", g->tensors[dup].name);
        goto bad;
    }

    /* Data section: at the next multiple of the alignment. A file without
     * tensors may end before it (vocabulary-only files do). */
    uint64_t data_start = r.pos + (g->alignment - r.pos % g->alignment) % g->alignment;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor_t *t = &g->tensors[i];
        if (t->offset % g->alignment) {
            fail(&r, "tensor '%s': data offset %llu is not a multiple of the alignment %llu",
                 t->name, (ull)t->offset, (ull)g->alignment);
            goto bad;
        }
        if (data_start > size || t->offset > size - data_start || t->nbytes > size - data_start - t->offset) {
            fail(&r, "tensor '%s': data [offset %llu, +%llu bytes] runs past the end of the file (%zu bytes)",
                 t->name, (ull)(data_start + t->offset), (ull)t->nbytes, size);
            goto bad;
        }
        t->data = (const unsigned char *)data + data_start + t->offset;
    }
    return g;

bad:
    priv_free(g);
    free(g);
    return NULL;
}

/* ---- loading ----------------------------------------------------------- */

static void progress(const char *name, uint64_t done, uint64_t total) {
    const int width = 30;
    int pct = total ? (int)(done * 100 / total) : 100;
    int fill = total ? (int)(done * (uint64_t)width / total) : width;
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : ' ';
    bar[width] = '\0';
    fprintf(stderr, "\rloading %s [%s] %3d%% %llu/%llu MiB", name, bar, pct,
            (ull)(done >> 20), (ull)(total >> 20));
    fflush(stderr);
}

gguf_t *gguf_open(const char *path, int flags, char *err, size_t errsz) {
    if (err && errsz) err[0] = '\0';
#define OPEN_FAIL(...) do { if (err && errsz) snprintf(err, errsz, __VA_ARGS__); } while (0)
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { OPEN_FAIL("cannot open '%s': %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        OPEN_FAIL("cannot stat '%s': %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        OPEN_FAIL("'%s' is not a regular file", path);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    /* Large files go into 2 MiB-aligned memory advised for transparent huge
     * pages: decoding streams every weight once per token, and with 4 KiB
     * pages the TLB misses cost a measured ~15% of decode speed. Small files
     * are 64-byte aligned, which suits wide vector loads. */
    unsigned char *mem = NULL;
    size_t align = size >= ((size_t)2 << 20) ? ((size_t)2 << 20) : 64;
    if (posix_memalign((void **)&mem, align, size ? size : 1) != 0) mem = NULL;
#ifdef MADV_HUGEPAGE
    if (mem && align > 64) madvise(mem, size, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    if (!mem) {
        OPEN_FAIL("cannot load '%s': out of memory for %zu bytes", path, size);
        close(fd);
        return NULL;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int show = (flags & GGUF_PROGRESS) && isatty(2);
    const size_t chunk = (size_t)16 << 20;
    size_t done = 0;
    int last_pct = -1;
    while (done < size) {
        size_t want = size - done < chunk ? size - done : chunk;
        ssize_t n = read(fd, mem + done, want);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n < 0) OPEN_FAIL("cannot read '%s': %s", path, strerror(errno));
            else OPEN_FAIL("cannot read '%s': unexpected end of file after %zu of %zu bytes", path, done, size);
            if (show) fputc('\n', stderr);
            free(mem);
            close(fd);
            return NULL;
        }
        done += (size_t)n;
        int pct = (int)((uint64_t)done * 100 / size);
        if (show && pct != last_pct) { progress(base, done, size); last_pct = pct; }
    }
    close(fd);
    if (show) fputs("\r\033[K", stderr);

    char perr[256];
    gguf_t *g = gguf_parse(mem, size, perr, sizeof perr);
    if (!g) {
        OPEN_FAIL("%s: %s", path, perr);
        free(mem);
        return NULL;
    }
    g->owns_mem = 1;
    return g;
#undef OPEN_FAIL
}

void gguf_close(gguf_t *g) {
    if (!g) return;
    priv_free(g);
    if (g->owns_mem) free((void *)g->mem);
    free(g);
}

/* ---- lookups ----------------------------------------------------------- */

static uint64_t lookup(const uint32_t *idx, uint64_t mask, const char *name, const gguf_t *g,
                       const char *(*name_of)(const gguf_t *, uint64_t)) {
    if (!idx || !name) return UINT64_MAX;
    for (uint64_t h = hash_name(name) & mask; idx[h]; h = (h + 1) & mask)
        if (strcmp(name_of(g, idx[h] - 1), name) == 0) return idx[h] - 1;
    return UINT64_MAX;
}

const gguf_kv_t *gguf_find(const gguf_t *g, const char *key) {
    if (!g) return NULL;
    const gguf_priv_t *pv = g->arena;
    uint64_t i = lookup(pv->kv_idx, pv->kv_mask, key, g, kv_name);
    return i == UINT64_MAX ? NULL : &g->kv[i];
}

const gguf_tensor_t *gguf_tensor(const gguf_t *g, const char *name) {
    if (!g) return NULL;
    const gguf_priv_t *pv = g->arena;
    uint64_t i = lookup(pv->t_idx, pv->t_mask, name, g, tensor_name);
    return i == UINT64_MAX ? NULL : &g->tensors[i];
}

static int is_unsigned(gguf_vtype_t t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_UINT64;
}
static int is_signed(gguf_vtype_t t) {
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64;
}

int gguf_get_u32(const gguf_t *g, const char *key, uint32_t *out) {
    const gguf_kv_t *kv = gguf_find(g, key);
    if (!kv) return -1;
    if (is_unsigned(kv->type) && kv->v.u64 <= UINT32_MAX) { *out = (uint32_t)kv->v.u64; return 0; }
    if (is_signed(kv->type) && kv->v.i64 >= 0 && kv->v.i64 <= (int64_t)UINT32_MAX) { *out = (uint32_t)kv->v.i64; return 0; }
    return -1;
}

int gguf_get_i64(const gguf_t *g, const char *key, int64_t *out) {
    const gguf_kv_t *kv = gguf_find(g, key);
    if (!kv) return -1;
    if (is_unsigned(kv->type) && kv->v.u64 <= (uint64_t)INT64_MAX) { *out = (int64_t)kv->v.u64; return 0; }
    if (is_signed(kv->type)) { *out = kv->v.i64; return 0; }
    return -1;
}

int gguf_get_f32(const gguf_t *g, const char *key, float *out) {
    const gguf_kv_t *kv = gguf_find(g, key);
    if (!kv || (kv->type != GGUF_TYPE_FLOAT32 && kv->type != GGUF_TYPE_FLOAT64)) return -1;
    *out = (float)kv->v.f64;
    return 0;
}

int gguf_get_bool(const gguf_t *g, const char *key, int *out) {
    const gguf_kv_t *kv = gguf_find(g, key);
    if (!kv || kv->type != GGUF_TYPE_BOOL) return -1;
    *out = kv->v.b;
    return 0;
}

int gguf_get_str(const gguf_t *g, const char *key, gguf_str_t *out) {
    const gguf_kv_t *kv = gguf_find(g, key);
    if (!kv || kv->type != GGUF_TYPE_STRING) return -1;
    *out = kv->v.str;
    return 0;
}

const gguf_kv_t *gguf_get_arr(const gguf_t *g, const char *key, gguf_vtype_t type) {
    const gguf_kv_t *kv = gguf_find(g, key);
    if (!kv || kv->type != GGUF_TYPE_ARRAY || kv->arr_type != type) return NULL;
    return kv;
}

/* ---- `copyd model info` ----------------------------------------------- */

/* Prints at most `max` bytes of s, control characters shown as '?', so a
 * hostile string cannot drive the terminal. */
static void put_str(FILE *out, const char *p, uint64_t len, uint64_t max) {
    uint64_t n = len < max ? len : max;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
    }
    if (len > max) fputs("...", out);
}

static void put_value(FILE *out, const gguf_kv_t *kv) {
    switch (kv->type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        fprintf(out, "%" PRIu64, kv->v.u64);
        break;
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        fprintf(out, "%" PRId64, kv->v.i64);
        break;
    case GGUF_TYPE_FLOAT32: case GGUF_TYPE_FLOAT64: fprintf(out, "%g", kv->v.f64); break;
    case GGUF_TYPE_BOOL: fputs(kv->v.b ? "true" : "false", out); break;
    case GGUF_TYPE_STRING: put_str(out, kv->v.str.p, kv->v.str.len, 120); break;
    case GGUF_TYPE_ARRAY:
        fprintf(out, "[%" PRIu64 " x %s]", kv->arr_n, gguf_vtype_name(kv->arr_type));
        break;
    default: fputs("?", out);
    }
}

int gguf_print_info(const gguf_t *g, FILE *out) {
    gguf_str_t arch = {"", 0}, s;
    gguf_get_str(g, "general.architecture", &arch);
    fprintf(out, "GGUF version %u, %" PRIu64 " keys, %" PRIu64 " tensors, alignment %" PRIu64 ", %zu bytes\n",
            g->version, g->n_kv, g->n_tensors, g->alignment, g->size);
    fputs("architecture: ", out);
    put_str(out, arch.p, arch.len, 64);
    fputc('\n', out);
    if (gguf_get_str(g, "general.name", &s) == 0) {
        fputs("name: ", out);
        put_str(out, s.p, s.len, 120);
        fputc('\n', out);
    }

    /* Every "<arch>.*" key: the sizes and hyper-parameters. */
    for (uint64_t i = 0; arch.len && i < g->n_kv; i++) {
        const gguf_kv_t *kv = &g->kv[i];
        if (strncmp(kv->key, arch.p, arch.len) != 0 || kv->key[arch.len] != '.') continue;
        fprintf(out, "  %s = ", kv->key);
        put_value(out, kv);
        fputc('\n', out);
    }

    /* Tensors: count, parameters, bytes, and how many of each type. */
    uint64_t count[GGML_TYPE__COUNT] = {0}, params = 0, bytes = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor_t *t = &g->tensors[i];
        if ((unsigned)t->type < GGML_TYPE__COUNT) count[t->type]++;
        params += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        bytes += t->nbytes;
    }
    fprintf(out, "tensors: %" PRIu64 " (%" PRIu64 " parameters, %.2f MiB)\n", g->n_tensors, params,
            bytes / (1024.0 * 1024.0));
    for (int t = 0; t < GGML_TYPE__COUNT; t++)
        if (count[t]) fprintf(out, "  %-8s %" PRIu64 "\n", ggml_type_name((ggml_type_t)t), count[t]);

    fputs("tokenizer: ", out);
    if (gguf_get_str(g, "tokenizer.ggml.model", &s) == 0) {
        fputs("model ", out);
        put_str(out, s.p, s.len, 64);
    } else {
        fputs("model (none)", out);
    }
    if (gguf_get_str(g, "tokenizer.ggml.pre", &s) == 0) {
        fputs(", pre ", out);
        put_str(out, s.p, s.len, 64);
    }
    const gguf_kv_t *tok = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
    fprintf(out, ", %" PRIu64 " tokens", tok ? tok->arr_n : 0);
    uint32_t id;
    if (gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &id) == 0) fprintf(out, ", bos %u", id);
    if (gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &id) == 0) fprintf(out, ", eos %u", id);
    fputc('\n', out);

    if (gguf_get_str(g, "tokenizer.chat_template", &s) == 0) {
        const char *nl = memchr(s.p, '\n', s.len);
        uint64_t first = nl ? (uint64_t)(nl - s.p) : s.len;
        fprintf(out, "chat template: %" PRIu64 " bytes, first line: ", s.len);
        put_str(out, s.p, first, 120);
        fputc('\n', out);
    } else {
        fputs("chat template: none\n", out);
    }
    return ferror(out) ? -1 : 0;
}
