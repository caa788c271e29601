/* main.c -- the copyd command: `serve`, `generate`, `--help`, `--version`. */
#include <dirent.h>
#include <jansson.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "http/server.h"
#include "llm/bench.h"
#include "llm/cli.h"
#include "llm/synth.h"
#include "stats/metrics.h"
#include "stats/sysstats.h"

static void usage(FILE *out) {
    fprintf(out,
            "copyd %s -- self-hosted copywriting server\n\n"
            "Usage:\n"
            "  copyd serve [OPTIONS]       serve the HTTP API (copyd serve --help)\n"
            "  copyd generate [FILE|-]     print the output JSON for one brief (copyd generate --help)\n"
            "  copyd complete --model FILE --prompt TEXT -n N   continue a text with a GGUF model\n"
            "  copyd tokenize --model FILE  print the token ids of standard input\n"
            "  copyd model info FILE       describe a GGUF model\n"
            "  copyd model synth ...       write a random-weight GGUF of a given shape (copyd model synth --help)\n"
            "  copyd bench --model FILE -t T -p P -n N -b B [-r R]   measure prefill and decode speed\n"
            "  copyd --version             print the version\n"
            "  copyd --help                show this help\n\n"
            "See README.md for the routes, configuration and examples.\n",
            COPYD_VERSION);
}

static int setup_logging(const config_t *cfg) {
    log_level_t lvl;
    if (log_parse_level(cfg->log_level, &lvl) < 0) return -1;
    log_set_level(lvl);
    return 0;
}

static int load_config(config_t *cfg, int argc, char **argv, int first) {
    char err[256];
    config_defaults(cfg);
    if (config_from_env(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "copyd: %s\n", err);
        return 2;
    }
    int rc = config_from_args(cfg, argc, argv, first, err, sizeof err);
    if (rc == 1) return 1;
    if (rc < 0) {
        fprintf(stderr, "copyd: %s\n", err);
        return 2;
    }
    setup_logging(cfg);
    return 0;
}

static int cmd_serve(int argc, char **argv) {
    config_t cfg;
    int rc = load_config(&cfg, argc, argv, 2);
    if (rc) {
        config_free(&cfg);
        return rc == 1 ? 0 : rc;
    }
    /* Block the stop signals in every thread; this one waits for them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    metrics_init();
    sysstats_start(cfg.data_dir);
    if (cfg.n_api_keys == 0)
        log_warn("no API key configured (API_KEY / --api-key): every keyed route answers 401");
    char err[512];
    api_t *api = api_create(&cfg, err, sizeof err);
    if (!api) {
        fprintf(stderr, "copyd: cannot start: %s\n", err);
        sysstats_stop();
        config_free(&cfg);
        return 1;
    }
    http_options_t opt = {
        .host = cfg.host, .port = cfg.port, .threads = cfg.max_workers,
        .conn_timeout = cfg.conn_timeout, .max_connections = cfg.max_connections,
        .max_body = (size_t)cfg.max_body,
    };
    http_server_t *srv = http_server_start(&opt, api_handle, api, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "copyd: %s\n", err);
        api_destroy(api);
        sysstats_stop();
        config_free(&cfg);
        return 1;
    }
    log_info("copyd %s listening on http://%s:%d/copywriting (engine %s, %d workers, redis %s, data %s)",
             COPYD_VERSION, cfg.host, http_server_port(srv), cfg.engine, cfg.max_workers,
             cfg.redis_url[0] ? "on" : "off", cfg.data_dir);

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {}
    log_info("signal %d: no new connections; finishing %u request(s) in flight", sig, http_server_inflight(srv));
    http_server_quiesce(srv);
    /* In-flight requests finish; a bounded wait so a stuck client cannot
     * hold the exit forever. */
    for (int i = 0; i < 300 && http_server_inflight(srv) > 0; i++) usleep(100 * 1000);
    http_server_stop(srv);
    api_destroy(api); /* finishes running jobs, flushes and closes the store */
    sysstats_stop();
    config_free(&cfg);
    log_info("stopped cleanly");
    return 0;
}

static void generate_help(FILE *out) {
    fprintf(out,
            "Usage: copyd generate [OPTIONS] [FILE|-]\n\n"
            "Reads one brief (JSON, SPEC section 2) from FILE or standard input and\n"
            "prints the output object (SPEC section 3) on standard output.\n"
            "A bad brief prints the error JSON and exits with status 1.\n\n"
            "  --pretty   indent the JSON\n"
            "  --text     print the variants for people: headline, text, call to action,\n"
            "             hashtags, scores and compliance, the best one marked\n\n"
            "Accepts the options of `copyd serve` that concern generation\n"
            "(--template-data, --engine, --data-dir, --cache-size ...). Without\n"
            "--data-dir (or COPYD_DATA_DIR) it uses a temporary store, removed at exit.\n\n"
            "Example:\n  echo '{\"product_description\":\"Zapatillas\",\"target_platform\":\"instagram\","
            "\"tone\":\"casual\"}' | copyd generate\n");
}

/* Removes the files of a throw-away store directory (one level deep). */
static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[1024];
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static char *read_all(FILE *f, size_t *len) {
    size_t cap = 65536, n = 0;
    char *p = malloc(cap);
    while (p) {
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            if (cap > 64u << 20) { free(p); return NULL; }
            char *q = realloc(p, cap *= 2);
            if (!q) { free(p); return NULL; }
            p = q;
        }
    }
    if (p) { p[n < cap ? n : cap - 1] = '\0'; *len = n; }
    return p;
}

/* --pretty: indented JSON; --text: the variants as a person reads them. */
static void print_output(const char *json, int as_text) {
    json_t *o = json_loads(json, 0, NULL);
    if (!o) {
        printf("%s\n", json);
        return;
    }
    if (!as_text) {
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) printf("%s\n", s);
        free(s);
        json_decref(o);
        return;
    }
    const char *best = json_string_value(json_object_get(o, "best_variant_id"));
    json_t *meta = json_object_get(o, "extra_metadata");
    printf("%s copy for %s (%s), model %s\n\n", json_string_value(json_object_get(meta, "language")),
           json_string_value(json_object_get(meta, "platform")), json_string_value(json_object_get(meta, "engine")),
           json_string_value(json_object_get(o, "model_used")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "variants"), i, v) {
        const char *id = json_string_value(json_object_get(v, "variant_id"));
        printf("== Variant %zu%s  (engagement %.3f, readability %.1f, %lld characters)\n", i + 1,
               best && id && strcmp(best, id) == 0 ? "  [best]" : "",
               json_number_value(json_object_get(v, "engagement_prediction")),
               json_number_value(json_object_get(v, "readability_score")),
               (long long)json_integer_value(json_object_get(v, "character_count")));
        printf("%s\n\n%s\n", json_string_value(json_object_get(v, "headline")),
               json_string_value(json_object_get(v, "primary_text")));
        const char *cta = json_string_value(json_object_get(v, "call_to_action"));
        if (cta && *cta) printf("\n> %s\n", cta);
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(v, "hashtags"), k, t) printf(k ? " %s" : "\n%s", json_string_value(t));
        json_t *c = json_object_get(v, "compliance");
        printf("%scompliance: %s", json_array_size(json_object_get(v, "hashtags")) ? "\n\n" : "\n",
               json_is_true(json_object_get(c, "passed")) ? "passed" : "FAILED");
        json_array_foreach(json_object_get(c, "violations"), k, t)
            printf("; %s", json_string_value(json_object_get(t, "detail")));
        json_array_foreach(json_object_get(c, "not_understood"), k, t)
            printf("; not understood: \"%s\"", json_string_value(t));
        printf("\n\n");
    }
    json_decref(o);
}

static int cmd_generate(int argc, char **argv) {
    const char *file = NULL;
    int first_opt = 2, pretty = 0, as_text = 0;
    /* The positional FILE may come first or last; options are serve's. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    rest[nrest++] = argv[0];
    rest[nrest++] = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            generate_help(stdout);
            free(rest);
            return 0;
        }
        if (strcmp(argv[i], "--pretty") == 0) { pretty = 1; continue; }
        if (strcmp(argv[i], "--text") == 0) { as_text = 1; continue; }
        if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
            if (file) { fprintf(stderr, "copyd generate: only one brief file\n"); free(rest); return 2; }
            file = argv[i];
        } else {
            rest[nrest++] = argv[i];
            if (!strchr(argv[i], '=') && i + 1 < argc) rest[nrest++] = argv[++i];
        }
    }
    config_t cfg;
    int rc = load_config(&cfg, nrest, rest, first_opt);
    free(rest);
    if (rc) { config_free(&cfg); return rc == 1 ? 0 : rc; }
    log_set_level(LOG_WARN);
    FILE *in = stdin;
    if (file && strcmp(file, "-") != 0) {
        in = fopen(file, "rb");
        if (!in) {
            fprintf(stderr, "copyd generate: cannot open %s: %s\n", file, strerror(errno));
            config_free(&cfg);
            return 2;
        }
    }
    size_t len = 0;
    char *text = read_all(in, &len);
    if (in != stdin) fclose(in);
    if (!text) {
        fprintf(stderr, "copyd generate: cannot read the brief\n");
        config_free(&cfg);
        return 2;
    }
    /* A one-shot run shares nothing with a server unless asked: no Redis,
     * and a throw-away store unless a data directory was given. */
    cfg.redis_url[0] = '\0';
    char tmpdir[] = "/tmp/copyd-generate-XXXXXX";
    int own_dir = strcmp(cfg.data_dir, "./copyd-data") == 0 && mkdtemp(tmpdir) != NULL;
    if (own_dir) snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", tmpdir);
    char err[512];
    metrics_init();
    api_t *api = api_create(&cfg, err, sizeof err);
    if (!api) {
        fprintf(stderr, "copyd generate: %s\n", err);
        if (own_dir) remove_tree(tmpdir);
        free(text);
        config_free(&cfg);
        return 1;
    }
    int status = 0;
    char *out = api_generate_text(api, text, len, &status);
    if (out && status == 200 && (pretty || as_text)) print_output(out, as_text);
    else if (out) printf("%s\n", out);
    free(out);
    free(text);
    api_destroy(api);
    if (own_dir) remove_tree(tmpdir);
    config_free(&cfg);
    return status == 200 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("copyd %s (API v11)\n", COPYD_VERSION);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0) return cmd_serve(argc, argv);
    if (strcmp(cmd, "generate") == 0) return cmd_generate(argc, argv);
    if (strcmp(cmd, "complete") == 0) return llm_cmd_complete(argc, argv);
    if (strcmp(cmd, "tokenize") == 0) return llm_cmd_tokenize(argc, argv);
    if (strcmp(cmd, "model") == 0) {
        if (argc >= 3 && strcmp(argv[2], "synth") == 0) return llm_cmd_synth(argc, argv);
        return llm_cmd_model(argc, argv);
    }
    if (strcmp(cmd, "bench") == 0) return llm_cmd_bench(argc, argv);
    fprintf(stderr, "copyd: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
