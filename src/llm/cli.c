#include "llm/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "llm/chat.h"
#include "llm/gguf.h"
#include "llm/model.h"
#include "llm/sample.h"
#include "llm/tokenizer.h"

/* ---- shared ------------------------------------------------------------ */

typedef struct loaded {
    gguf_t *g;
    tokenizer_t *tok;
    llm_model_t *model; /* NULL when only the tokenizer is needed */
} loaded_t;

static void unload(loaded_t *l) {
    llm_model_free(l->model);
    tokenizer_free(l->tok);
    gguf_close(l->g);
    memset(l, 0, sizeof *l);
}

static int load(const char *cmd, const char *path, int with_model, loaded_t *l) {
    char err[512];
    memset(l, 0, sizeof *l);
    l->g = gguf_open(path, GGUF_PROGRESS, err, sizeof err);
    if (!l->g) {
        fprintf(stderr, "copyd %s: %s\n", cmd, err);
        return -1;
    }
    l->tok = tokenizer_load(l->g, err, sizeof err);
    if (!l->tok) {
        fprintf(stderr, "copyd %s: %s: tokenizer: %s\n", cmd, path, err);
        unload(l);
        return -1;
    }
    if (with_model) {
        l->model = llm_model_load(l->g, err, sizeof err);
        if (!l->model) {
            fprintf(stderr, "copyd %s: %s: %s\n", cmd, path, err);
            unload(l);
            return -1;
        }
    }
    return 0;
}

/* ---- complete ------------------------------------------------------------ */

static void complete_help(FILE *out) {
    fprintf(out,
            "Usage: copyd complete --model FILE --prompt TEXT -n N [OPTIONS]\n\n"
            "Continues TEXT with the model and prints only the continuation.\n\n"
            "  --model FILE          GGUF model (llama or qwen2 architecture)\n"
            "  --prompt TEXT         the text to continue (\"\" starts from BOS alone)\n"
            "  -n N                  tokens to generate (stops early at end-of-generation)\n"
            "  --temperature T       0 is greedy (default 0.8)\n"
            "  --seed S              random seed (default 42)\n"
            "  --top-k K             keep the K most likely tokens (default 40; 0 off)\n"
            "  --top-p P             nucleus sampling (default 0.95; 1 off)\n"
            "  --min-p P             drop tokens below P x the best (default 0.05; 0 off)\n"
            "  --repeat-penalty R    penalise the last 64 tokens (default 1.0, off)\n"
            "  --llama2c-sampler     llama2.c run.c's sampler (temperature + top-p, its RNG)\n"
            "  --chat                wrap the prompt in the model's chat template\n"
            "  --template NAME       chat template: chatml, llama2, llama3, zephyr, mistral\n"
            "  --ids                 print the generated token ids, space-separated\n"
            "  --help                this text\n");
}

int llm_cmd_complete(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *tmpl = NULL;
    long n = -1;
    int ids = 0, chat = 0;
    llm_sample_params_t sp;
    llm_sample_params_default(&sp);
    sp.temperature = 0.8f;
    sp.seed = 42;
    sp.repeat_penalty = 1.0f; /* off unless asked: greedy must be the plain argmax */
    for (int i = 2; i < argc; i++) {
        int missing = 0;
        const char *v;
        double d;
        long l;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            complete_help(stdout);
            return 0;
        } else if ((v = arg_value(argc, argv, &i, "--model", &missing))) {
            model = v;
        } else if ((v = arg_value(argc, argv, &i, "--prompt", &missing))) {
            prompt = v;
        } else if ((v = arg_value(argc, argv, &i, "-n", &missing))) {
            if (parse_long(v, 0, 1000000, &n) < 0) goto bad_value;
        } else if ((v = arg_value(argc, argv, &i, "--temperature", &missing))) {
            if (parse_double(v, 0, 100, &d) < 0) goto bad_value;
            sp.temperature = (float)d;
        } else if ((v = arg_value(argc, argv, &i, "--seed", &missing))) {
            if (parse_long(v, 0, 0x7fffffffffffffffL, &l) < 0) goto bad_value;
            sp.seed = (uint64_t)l;
        } else if ((v = arg_value(argc, argv, &i, "--top-k", &missing))) {
            if (parse_long(v, 0, 1000000, &l) < 0) goto bad_value;
            sp.top_k = (int)l;
        } else if ((v = arg_value(argc, argv, &i, "--top-p", &missing))) {
            if (parse_double(v, 0, 1, &d) < 0) goto bad_value;
            sp.top_p = (float)d;
        } else if ((v = arg_value(argc, argv, &i, "--min-p", &missing))) {
            if (parse_double(v, 0, 1, &d) < 0) goto bad_value;
            sp.min_p = (float)d;
        } else if ((v = arg_value(argc, argv, &i, "--repeat-penalty", &missing))) {
            if (parse_double(v, 0, 10, &d) < 0) goto bad_value;
            sp.repeat_penalty = (float)d;
        } else if ((v = arg_value(argc, argv, &i, "--template", &missing))) {
            tmpl = v;
            chat = 1;
        } else if (strcmp(argv[i], "--llama2c-sampler") == 0) {
            sp.llama2c = 1;
        } else if (strcmp(argv[i], "--chat") == 0) {
            chat = 1;
        } else if (strcmp(argv[i], "--ids") == 0) {
            ids = 1;
        } else {
            if (missing) fprintf(stderr, "copyd complete: %s needs a value\n", argv[i]);
            else fprintf(stderr, "copyd complete: unknown option '%s' (see copyd complete --help)\n", argv[i]);
            return 2;
        }
        continue;
    bad_value:
        fprintf(stderr, "copyd complete: bad value '%s' for %s\n", v, argv[i - 1]);
        return 2;
    }
    if (!model || !prompt || n < 0) {
        fprintf(stderr, "copyd complete: --model, --prompt and -n are required (see copyd complete --help)\n");
        return 2;
    }
    if (sp.llama2c) { /* run.c: temperature, then top-p; nothing else */
        sp.top_k = 0;
        sp.min_p = 0;
    }

    loaded_t L;
    if (load("complete", model, 1, &L) < 0) return 1;
    int rc = 1;
    buf_t text = BUF_INIT;
    int32_t *toks = NULL;
    size_t ntok = 0;
    if (chat) {
        gguf_str_t t = {0};
        gguf_get_str(L.g, "tokenizer.chat_template", &t);
        llm_chat_kind_t kind;
        char err[256];
        if (llm_chat_choose(tmpl, t.p, (size_t)t.len, &kind, err, sizeof err) < 0 ||
            llm_chat_render(kind, NULL, prompt, NULL, &text, err, sizeof err) < 0) {
            fprintf(stderr, "copyd complete: %s\n", err);
            goto out;
        }
    } else {
        buf_puts(&text, prompt);
    }
    if (tokenizer_encode(L.tok, text.p ? text.p : "", text.len, 1, chat, &toks, &ntok) < 0) {
        fprintf(stderr, "copyd complete: could not tokenize the prompt\n");
        goto out;
    }
    if (ntok == 0) { /* a model without BOS and an empty prompt: nothing to condition on */
        fprintf(stderr, "copyd complete: the prompt is empty and the model adds no BOS token\n");
        goto out;
    }
    const llm_config_t *cfg = llm_model_config(L.model);
    int n_ctx = cfg->n_ctx_train > 0 ? cfg->n_ctx_train : 2048;
    if ((long)ntok + n > n_ctx) {
        fprintf(stderr, "copyd complete: prompt (%zu tokens) + n (%ld) exceeds the context (%d)\n", ntok, n, n_ctx);
        goto out;
    }
    llm_state_t *st = llm_state_new(L.model, (int)(ntok + (size_t)n));
    llm_sampler_t *smp = llm_sampler_new(cfg->n_vocab, &sp);
    float *logits = malloc(sizeof(float) * (size_t)cfg->n_vocab);
    int32_t *hist = malloc(sizeof(int32_t) * (ntok + (size_t)n + 1));
    if (!st || !smp || !logits || !hist) {
        fprintf(stderr, "copyd complete: out of memory\n");
        goto out2;
    }
    memcpy(hist, toks, ntok * sizeof *hist);
    int nh = (int)ntok;
    if (llm_eval(L.model, st, toks, (int)ntok, logits, NULL) < 0) {
        fprintf(stderr, "copyd complete: evaluation failed\n");
        goto out2;
    }
    detok_t dt;
    detok_init(&dt);
    /* The leading space of the first piece is dropped only when there is no
     * prompt text (as llama2.c prints a story from BOS); a continuation keeps
     * the space that separates it from the prompt. */
    if (text.len > 0) dt.first = 0;
    char piece[256];
    for (long k = 0; k < n; k++) {
        int id = llm_sampler_sample(smp, logits, hist, nh, NULL);
        if (id < 0 || tokenizer_is_eog(L.tok, id)) break;
        hist[nh++] = id;
        if (ids) {
            printf(k ? " %d" : "%d", id);
        } else {
            size_t m = detok_push(L.tok, &dt, id, piece, sizeof piece);
            fwrite(piece, 1, m, stdout);
            fflush(stdout);
        }
        if (k + 1 < n && llm_eval(L.model, st, &hist[nh - 1], 1, logits, NULL) < 0) break;
    }
    if (ids) {
        putchar('\n');
    } else {
        size_t m = detok_flush(&dt, piece, sizeof piece);
        fwrite(piece, 1, m, stdout);
    }
    fflush(stdout);
    rc = 0;
out2:
    free(hist);
    free(logits);
    llm_sampler_free(smp);
    llm_state_free(st);
out:
    free(toks);
    buf_free(&text);
    unload(&L);
    return rc;
}

/* ---- tokenize ------------------------------------------------------------ */

int llm_cmd_tokenize(int argc, char **argv) {
    const char *model = NULL;
    for (int i = 2; i < argc; i++) {
        int missing = 0;
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: copyd tokenize --model FILE < text\n\n"
                   "Prints the token ids of standard input, space-separated, with no BOS/EOS\n"
                   "added and special-token text treated as plain text.\n");
            return 0;
        } else if ((v = arg_value(argc, argv, &i, "--model", &missing))) {
            model = v;
        } else {
            fprintf(stderr, "copyd tokenize: %s '%s' (see copyd tokenize --help)\n",
                    missing ? "missing value for" : "unknown option", argv[i]);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "copyd tokenize: --model FILE is required\n");
        return 2;
    }
    buf_t in = BUF_INIT;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) buf_append(&in, chunk, got);
    loaded_t L;
    if (load("tokenize", model, 0, &L) < 0) {
        buf_free(&in);
        return 1;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = tokenizer_encode(L.tok, in.p ? in.p : "", in.len, 0, 0, &ids, &n) < 0 ? 1 : 0;
    for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    putchar('\n');
    free(ids);
    buf_free(&in);
    unload(&L);
    return rc;
}

/* ---- model info ------------------------------------------------------------ */

int llm_cmd_model(int argc, char **argv) {
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        printf("Usage: copyd model info FILE\n"
               "       copyd model synth --help\n\n"
               "info: prints a GGUF model's architecture, sizes, tensor types, tokenizer and chat template.\n"
               "synth: writes a GGUF with random weights of a given shape, for benchmarks and tests.\n");
        return 0;
    }
    if (argc < 4 || strcmp(argv[2], "info") != 0 || argc > 4) {
        fprintf(stderr, "Usage: copyd model info FILE (see copyd model --help)\n");
        return 2;
    }
    char err[512];
    gguf_t *g = gguf_open(argv[3], GGUF_PROGRESS, err, sizeof err);
    if (!g) {
        fprintf(stderr, "copyd model info: %s\n", err);
        return 1;
    }
    gguf_print_info(g, stdout);
    int rc = 0;
    tokenizer_t *tok = tokenizer_load(g, err, sizeof err);
    if (tok) {
        printf("tokenizer: %s (pre %s), %zu tokens, bos %d, eos %d\n", tokenizer_model_name(tok),
               tokenizer_pre_name(tok), tokenizer_n_vocab(tok), tokenizer_bos(tok), tokenizer_eos(tok));
        tokenizer_free(tok);
    } else {
        printf("tokenizer: cannot load: %s\n", err);
    }
    llm_model_t *m = llm_model_load(g, err, sizeof err);
    if (m) {
        const llm_config_t *c = llm_model_config(m);
        printf("runnable: yes (%s: %d layers, embedding %d, %d heads, %d kv heads, ffn %d, vocab %d, rope %s, %s output)\n",
               c->arch, c->n_layer, c->n_embd, c->n_head, c->n_head_kv, c->n_ff, c->n_vocab,
               c->rope_neox ? "neox" : "normal", c->tied_output ? "tied" : "separate");
        llm_model_free(m);
    } else {
        printf("runnable: no: %s\n", err);
        rc = 1;
    }
    gguf_str_t t;
    if (gguf_get_str(g, "tokenizer.chat_template", &t) == 0) {
        llm_chat_kind_t k = llm_chat_detect(t.p, (size_t)t.len);
        printf("chat template: %s\n", k == LLM_CHAT_UNKNOWN ? "present, not recognised" : llm_chat_name(k));
    } else {
        printf("chat template: none\n");
    }
    gguf_close(g);
    return rc;
}
