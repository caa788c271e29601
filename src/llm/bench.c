/* bench.c -- `copyd bench` (see bench.h). */
#include "llm/bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/util.h"
#include "llm/gguf.h"
#include "llm/model.h"
#include "llm/quant.h"
#include "llm/sample.h"

/* ---- memory bandwidth ------------------------------------------------------ */

typedef struct bw_task {
    const unsigned char *p;
    size_t n;
    uint64_t sink; /* keeps the reads from being optimised away */
} bw_task_t;

/* Reads n bytes (a multiple of 64) with wide independent loads: the loop
 * is bound by memory, not by the adds. */
static void *bw_read(void *arg) {
    bw_task_t *t = arg;
    typedef uint64_t v4 __attribute__((vector_size(32), aligned(8)));
    v4 a = {0}, b = {0};
    for (size_t i = 0; i + 64 <= t->n; i += 64) {
        v4 x, y;
        memcpy(&x, t->p + i, sizeof x);
        memcpy(&y, t->p + i + 32, sizeof y);
        a ^= x;
        b ^= y;
    }
    a ^= b;
    t->sink = a[0] ^ a[1] ^ a[2] ^ a[3];
    return NULL;
}

double llm_bench_bandwidth(size_t bytes, int threads, int passes) {
    if (threads < 1) threads = 1;
    if (threads > 256) threads = 256;
    if (passes < 1) passes = 1;
    bytes &= ~(size_t)4095;
    if (bytes < ((size_t)1 << 20)) return -1;
    unsigned char *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) return -1;
    /* real pages with real (non-zero) content: an untouched mapping would
     * read the shared zero page and measure the cache instead */
    for (size_t i = 0; i < bytes; i += 4096) memset(buf + i, (int)(i >> 12) | 1, 4096);

    bw_task_t task[256];
    pthread_t tid[256];
    size_t slice = bytes / (size_t)threads / 64 * 64;
    double best = -1;
    for (int pass = 0; pass < passes; pass++) {
        for (int k = 0; k < threads; k++) {
            task[k].p = buf + (size_t)k * slice;
            task[k].n = slice;
        }
        double t0 = now_mono();
        int started = 0, ok = 1;
        for (int k = 1; k < threads; k++, started++)
            if (pthread_create(&tid[k], NULL, bw_read, &task[k]) != 0) {
                ok = 0;
                break;
            }
        bw_read(&task[0]);
        for (int k = 1; k <= started; k++) pthread_join(tid[k], NULL);
        double dt = now_mono() - t0;
        if (!ok) {
            best = -1;
            break;
        }
        double gbs = (double)slice * threads / dt / 1e9;
        if (gbs > best) best = gbs;
    }
    uint64_t sink = 0;
    for (int k = 0; k < threads; k++) sink ^= task[k].sink;
    munmap(buf, bytes);
    __asm__ volatile("" : : "r"(sink)); /* the sums are "used" */
    return best;
}

long llm_bench_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* ---- the command --------------------------------------------------------------- */

static void bench_help(FILE *out) {
    fprintf(out,
            "Usage: copyd bench --model FILE [-t T] [-p P] [-n N] [-b B] [-r R]\n\n"
            "Measures prompt processing (prefill) and greedy decoding speed of a GGUF model,\n"
            "the machine's memory bandwidth, and how close decoding gets to the bandwidth ceiling.\n\n"
            "  --model FILE     GGUF model (copyd model synth writes one of any shape)\n"
            "  -t T             threads (default: all online CPUs)\n"
            "  -p P             prompt tokens per sequence (default 128)\n"
            "  -n N             tokens decoded per sequence (default 64)\n"
            "  -b B             sequences decoded together (default 1)\n"
            "  -r R             repetitions; the median is reported (default 3)\n"
            "  --bw-mib M       bandwidth test buffer in MiB (default 1024; larger than the LLC)\n"
            "  --per-seq        decode with one llm_eval per sequence instead of llm_eval_batch\n"
            "  --help           this text\n\n"
            "Prints a '#' description line, then one line of key=value pairs:\n"
            "  pp_tok_s tg_tok_s bw_GB_s weights_MiB ceiling_tg_tok_s ceiling_share\n"
            "  rss_MiB file_MiB kv_MiB rss_limit_MiB rss_ok\n"
            "tg_tok_s is the aggregate over the B sequences; ceiling_tg_tok_s = B x bandwidth /\n"
            "bytes of weights read per step; rss_limit_MiB = file + KV caches + 64.\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Greedy choice, as the engine makes it (never -1 on a model's logits). */
static int32_t argmax(const float *x, int n) {
    int best = llm_argmax(x, n);
    return best < 0 ? 0 : best;
}

/* Bytes of weights one decoding step reads: every tensor, except that the
 * embedding table contributes one row unless it doubles as the output. */
static uint64_t weight_bytes_per_step(const gguf_t *g) {
    int tied = gguf_tensor(g, "output.weight") == NULL;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor_t *t = &g->tensors[i];
        if (strcmp(t->name, "token_embd.weight") == 0 && !tied) sum += ggml_row_bytes(t->type, t->ne[0]);
        else sum += t->nbytes;
    }
    return sum;
}

int llm_cmd_bench(int argc, char **argv) {
    const char *path = NULL;
    long threads = 0, n_prompt = 128, n_gen = 64, n_seq = 1, reps = 3, bw_mib = 1024;
    int per_seq = 0;
    for (int i = 2; i < argc; i++) {
        int missing = 0;
        const char *v;
        long *target = NULL, lo = 1, hi = 1000000;
        const char *flag = argv[i]; /* before arg_value() moves i */
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            bench_help(stdout);
            return 0;
        } else if ((v = arg_value(argc, argv, &i, "--model", &missing))) {
            path = v;
        } else if ((v = arg_value(argc, argv, &i, "-t", &missing))) {
            target = &threads, hi = 256;
        } else if ((v = arg_value(argc, argv, &i, "-p", &missing))) {
            target = &n_prompt;
        } else if ((v = arg_value(argc, argv, &i, "-n", &missing))) {
            target = &n_gen;
        } else if ((v = arg_value(argc, argv, &i, "-b", &missing))) {
            target = &n_seq, hi = 1024;
        } else if ((v = arg_value(argc, argv, &i, "-r", &missing))) {
            target = &reps, hi = 1000;
        } else if ((v = arg_value(argc, argv, &i, "--bw-mib", &missing))) {
            target = &bw_mib, lo = 16, hi = 1 << 20;
        } else if (strcmp(argv[i], "--per-seq") == 0) {
            per_seq = 1;
        } else {
            if (missing) fprintf(stderr, "copyd bench: %s needs a value\n", argv[i]);
            else fprintf(stderr, "copyd bench: unknown option '%s' (see copyd bench --help)\n", argv[i]);
            return 2;
        }
        if (target && parse_long(v, lo, hi, target) < 0) {
            fprintf(stderr, "copyd bench: bad value '%s' for %.*s (%ld..%ld)\n", v, (int)strcspn(flag, "="), flag, lo,
                    hi);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "copyd bench: --model FILE is required (see copyd bench --help)\n");
        return 2;
    }

    FILE *probe = fopen(path, "rb"); /* fail early, before the bandwidth test */
    if (!probe) {
        fprintf(stderr, "copyd bench: cannot open '%s': %s\n", path, strerror(errno));
        return 1;
    }
    fclose(probe);

    /* Bandwidth first, while the model is not loaded (the two together
     * would need both in memory); the buffer is unmapped before the
     * resident size is read. */
    int nthreads = llm_set_threads((int)threads);
    double bw = llm_bench_bandwidth((size_t)bw_mib << 20, nthreads, 3);
    if (bw <= 0) {
        fprintf(stderr, "copyd bench: the bandwidth test could not run (%ld MiB buffer)\n", bw_mib);
        return 1;
    }

    char err[512];
    gguf_t *g = gguf_open(path, GGUF_PROGRESS, err, sizeof err);
    if (!g) {
        fprintf(stderr, "copyd bench: %s\n", err);
        return 1;
    }
    llm_model_t *m = llm_model_load(g, err, sizeof err);
    if (!m) {
        fprintf(stderr, "copyd bench: %s: %s\n", path, err);
        gguf_close(g);
        return 1;
    }
    const llm_config_t *c = llm_model_config(m);
    const int V = c->n_vocab, B = (int)n_seq, P = (int)n_prompt, N = (int)n_gen;
    int rc = 1;
    llm_state_t **st = calloc((size_t)B, sizeof *st);
    float *logits = malloc((size_t)B * (size_t)V * sizeof *logits);
    int32_t *prompt = malloc((size_t)P * sizeof *prompt), *next = malloc((size_t)B * sizeof *next);
    double *pp = malloc((size_t)reps * sizeof *pp), *tg = malloc((size_t)reps * sizeof *tg);
    if (!st || !logits || !prompt || !next || !pp || !tg) goto oom;
    for (int s = 0; s < B; s++)
        if (!(st[s] = llm_state_new(m, P + N))) goto oom;

    const gguf_tensor_t *w = gguf_tensor(g, "blk.0.ffn_down.weight");
    const char *tname = w ? ggml_type_name(w->type) : "?";
    printf("# copyd bench: %s (%s, %d layers, embd %d, ffn %d, vocab %d, %s), %d threads, prompt %d, gen %d, "
           "%d seq, %ld reps, decode by %s\n",
           path, c->arch, c->n_layer, c->n_embd, c->n_ff, V, tname, nthreads, P, N, B, reps,
           per_seq && B > 1 ? "llm_eval per sequence" : B == 1 ? "llm_eval" : "llm_eval_batch");
    fflush(stdout);

    for (long r = 0; r < reps; r++) {
        for (int s = 0; s < B; s++) llm_state_reset(st[s]);
        /* prefill: distinct deterministic prompts (ids below the specials) */
        double t0 = now_mono();
        for (int s = 0; s < B; s++) {
            for (int i = 0; i < P; i++)
                prompt[i] = (int32_t)((1u + 7919u * (uint32_t)(i + 1) + 104729u * (uint32_t)s) % (uint32_t)(V > 3 ? V - 3 : V));
            if (llm_eval(m, st[s], prompt, P, logits + (size_t)s * V, NULL) != 0) {
                fprintf(stderr, "copyd bench: prefill failed\n");
                goto out;
            }
            next[s] = argmax(logits + (size_t)s * V, V);
        }
        double t1 = now_mono();
        /* decode: N greedy steps of all sequences */
        for (int k = 0; k < N; k++) {
            if (per_seq || B == 1) {
                for (int s = 0; s < B; s++)
                    if (llm_eval(m, st[s], &next[s], 1, logits + (size_t)s * V, NULL) != 0) goto eval_fail;
            } else if (llm_eval_batch(m, st, next, B, logits) != 0) {
                goto eval_fail;
            }
            for (int s = 0; s < B; s++) next[s] = argmax(logits + (size_t)s * V, V);
        }
        double t2 = now_mono();
        pp[r] = (double)B * P / (t1 - t0);
        tg[r] = (double)B * N / (t2 - t1);
    }

    {
        double pp_med = median(pp, (int)reps), tg_med = median(tg, (int)reps);
        uint64_t wbytes = weight_bytes_per_step(g);
        double ceiling = (double)B * bw * 1e9 / (double)wbytes;
        uint64_t kv = (uint64_t)B * 2u * (uint64_t)c->n_layer * (uint64_t)(P + N) * (uint64_t)c->n_head_kv *
                      (uint64_t)c->head_dim * sizeof(float);
        long rss = llm_bench_rss_kib();
        double mib = 1024.0 * 1024.0;
        double limit = ((double)g->size + (double)kv) / mib + 64.0;
        printf("pp_tok_s=%.2f tg_tok_s=%.2f bw_GB_s=%.2f weights_MiB=%.1f ceiling_tg_tok_s=%.2f "
               "ceiling_share=%.3f rss_MiB=%.1f file_MiB=%.1f kv_MiB=%.1f rss_limit_MiB=%.1f rss_ok=%s\n",
               pp_med, tg_med, bw, (double)wbytes / mib, ceiling, tg_med / ceiling, rss / 1024.0,
               (double)g->size / mib, (double)kv / mib, limit, rss >= 0 && rss / 1024.0 <= limit ? "yes" : "no");
    }
    rc = 0;
    goto out;
eval_fail:
    fprintf(stderr, "copyd bench: decoding failed\n");
    goto out;
oom:
    fprintf(stderr, "copyd bench: out of memory\n");
out:
    if (st)
        for (int s = 0; s < B; s++) llm_state_free(st[s]);
    free(st);
    free(logits);
    free(prompt);
    free(next);
    free(pp);
    free(tg);
    llm_model_free(m);
    gguf_close(g);
    return rc;
}
