#include "core/config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

typedef enum { OPT_STR, OPT_INT, OPT_LONG, OPT_KEYS } opt_kind_t;

typedef struct option_def {
    const char *flag;      /* --port */
    const char *env;       /* PORT (NULL: flag only) */
    const char *env_alt;   /* a second accepted variable name */
    opt_kind_t kind;
    size_t offset;         /* into config_t */
    size_t size;           /* for strings */
    long min, max;
    const char *help;
} option_def_t;

#define STR(field) OPT_STR, offsetof(config_t, field), sizeof(((config_t *)0)->field), 0, 0
#define INT(field, lo, hi) OPT_INT, offsetof(config_t, field), 0, lo, hi
#define LNG(field, lo, hi) OPT_LONG, offsetof(config_t, field), 0, lo, hi

static const option_def_t options[] = {
    {"--host", "HOST", NULL, STR(host), "address to listen on (default 0.0.0.0)"},
    {"--port", "PORT", NULL, INT(port, 0, 65535), "TCP port (default 8000)"},
    {"--api-key", "API_KEY", "COPYWRITING_API_KEY", OPT_KEYS, 0, 0, 0, 0,
     "accepted X-API-Key values, comma-separated (default: none accepted; see README)"},
    {"--redis-url", "REDIS_URL", NULL, STR(redis_url), "redis://[:password@]host[:port][/db]; unset = memory cache only"},
    {"--data-dir", "COPYD_DATA_DIR", NULL, STR(data_dir), "directory of the SQLite store (default ./copyd-data)"},
    {"--template-data", "COPYD_TEMPLATE_DATA", NULL, STR(template_data), "template engine data files (default: the source tree's data/)"},
    {"--engine", "COPYD_ENGINE", NULL, STR(engine), "default engine: template or llm (default template)"},
    {"--fallback", "COPYD_FALLBACK", NULL, STR(fallback), "engine fallback order, comma-separated (default template)"},
    {"--model", "COPYD_MODEL", NULL, STR(model), "GGUF model file for the llm engine (default: none)"},
    {"--llm-languages", "COPYD_LLM_LANGUAGES", NULL, STR(llm_languages), "languages the model writes, comma-separated (default en)"},
    {"--llm-max-tokens", "COPYD_LLM_MAX_TOKENS", NULL, INT(llm_max_tokens, 8, 4096), "tokens the model writes per variant (default 96)"},
    {"--chat-template", "COPYD_CHAT_TEMPLATE", NULL, STR(chat_template), "chatml, llama2, llama3, zephyr or mistral (default: from the model file)"},
    {"--max-workers", "MAX_WORKERS", NULL, INT(max_workers, 1, 256), "HTTP worker threads (default: number of CPUs)"},
    {"--job-workers", "COPYD_JOB_WORKERS", NULL, INT(job_workers, 1, 64), "legacy batch job threads (default 2)"},
    {"--batch-size", "BATCH_SIZE", NULL, INT(batch_size, 1, 256), "items per engine call (default 8)"},
    {"--max-batch-size", "MAX_BATCH_SIZE", NULL, INT(max_batch_size, 1, 10000), "items per batch request (default 20)"},
    {"--cache-size", "CACHE_SIZE", NULL, LNG(cache_size, 1, 100000000), "memory cache entries (default 10000)"},
    {"--cache-ttl", "CACHE_TTL", NULL, LNG(cache_ttl, 1, 31536000), "cache entry lifetime in seconds (default 3600)"},
    {"--max-body", "COPYD_MAX_BODY", NULL, LNG(max_body, 1024, 1073741824), "largest request body in bytes (default 10485760)"},
    {"--rate-limit", "COPYD_RATE_LIMIT", "RATE_LIMIT_PER_MINUTE", INT(rate_limit, 1, 1000000),
     "legacy requests per minute per key and route (default 5)"},
    {"--conn-timeout", "COPYD_CONN_TIMEOUT", NULL, INT(conn_timeout, 1, 3600), "idle/slow connection timeout in seconds (default 10)"},
    {"--max-connections", "COPYD_MAX_CONNECTIONS", NULL, INT(max_connections, 16, 100000), "open connections at most (default 4096)"},
    {"--log-level", "COPYD_LOG_LEVEL", NULL, STR(log_level), "debug, info, warn or error (default info)"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

void config_defaults(config_t *c) {
    memset(c, 0, sizeof *c);
    strcpy(c->host, "0.0.0.0");
    c->port = 8000;
    strcpy(c->data_dir, "./copyd-data");
    snprintf(c->template_data, sizeof c->template_data, "%s", COPYD_DEFAULT_DATA_PATH);
    strcpy(c->engine, "template");
    strcpy(c->fallback, "template");
    strcpy(c->llm_languages, "en");
    c->llm_max_tokens = 96;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->max_workers = cpus > 0 && cpus < 256 ? (int)cpus : 2;
    c->job_workers = 2;
    c->batch_size = 8;
    c->max_batch_size = 20;
    c->cache_size = 10000;
    c->cache_ttl = 3600;
    c->max_body = 10L * 1024 * 1024;
    c->rate_limit = 5;
    c->conn_timeout = 10;
    c->max_connections = 4096;
    strcpy(c->log_level, "info");
}

void config_free(config_t *c) {
    for (size_t i = 0; i < c->n_api_keys; i++) free(c->api_keys[i]);
    c->n_api_keys = 0;
}

int config_set_keys(config_t *c, const char *list, char *err, size_t errsz) {
    config_free(c);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *start = p;
        while (*p && *p != ',') p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
        if (end == start) continue;
        if (c->n_api_keys == CONFIG_MAX_KEYS) {
            snprintf(err, errsz, "at most %d API keys are accepted", CONFIG_MAX_KEYS);
            return -1;
        }
        c->api_keys[c->n_api_keys++] = strndup(start, (size_t)(end - start));
    }
    return 0;
}

static int set_option(config_t *c, const option_def_t *o, const char *val, const char *name,
                      char *err, size_t errsz) {
    char *base = (char *)c;
    long v;
    switch (o->kind) {
    case OPT_STR:
        if (strlen(val) >= o->size) {
            snprintf(err, errsz, "%s: value longer than %zu characters", name, o->size - 1);
            return -1;
        }
        memcpy(base + o->offset, val, strlen(val) + 1);
        return 0;
    case OPT_KEYS:
        return config_set_keys(c, val, err, errsz);
    case OPT_INT:
    case OPT_LONG:
        if (parse_long(val, o->min, o->max, &v) < 0) {
            snprintf(err, errsz, "%s: '%s' is not an integer in %ld..%ld", name, val, o->min, o->max);
            return -1;
        }
        if (o->kind == OPT_INT) *(int *)(base + o->offset) = (int)v;
        else *(long *)(base + o->offset) = v;
        return 0;
    }
    return -1;
}

static int check_config(config_t *c, char *err, size_t errsz) {
    static const char *levels[] = {"debug", "info", "warn", "error"};
    int ok = 0;
    for (int i = 0; i < 4; i++) ok |= strcmp(c->log_level, levels[i]) == 0;
    if (!ok) {
        snprintf(err, errsz, "log level '%s' is not one of debug, info, warn, error", c->log_level);
        return -1;
    }
    return 0;
}

int config_from_env(config_t *c, char *err, size_t errsz) {
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option_def_t *o = &options[i];
        const char *names[2] = {o->env, o->env_alt};
        /* The primary name wins: read the alternative first, then the primary. */
        for (int k = 1; k >= 0; k--) {
            const char *val = names[k] ? getenv(names[k]) : NULL;
            if (!val || !*val) continue;
            if (set_option(c, o, val, names[k], err, errsz) < 0) return -1;
        }
    }
    return check_config(c, err, errsz);
}

int config_from_args(config_t *c, int argc, char **argv, int first, char *err, size_t errsz) {
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            config_print_help(stdout);
            return 1;
        }
        const option_def_t *o = NULL;
        const char *val = NULL;
        size_t flen = 0;
        for (size_t k = 0; k < N_OPTIONS; k++) {
            flen = strlen(options[k].flag);
            if (strncmp(arg, options[k].flag, flen) == 0 && (arg[flen] == '\0' || arg[flen] == '=')) {
                o = &options[k];
                break;
            }
        }
        if (!o) {
            snprintf(err, errsz, "unknown option '%s' (see copyd serve --help)", arg);
            return -1;
        }
        if (arg[flen] == '=') val = arg + flen + 1;
        else if (i + 1 < argc) val = argv[++i];
        else {
            snprintf(err, errsz, "option %s needs a value", o->flag);
            return -1;
        }
        if (set_option(c, o, val, o->flag, err, errsz) < 0) return -1;
    }
    return check_config(c, err, errsz);
}

void config_print_help(FILE *out) {
    fprintf(out, "Usage: copyd serve [OPTIONS]\n\n"
                 "Serves the copywriting API under /copywriting (see README.md).\n"
                 "Each option can also be set by the environment variable shown;\n"
                 "the command line wins.\n\nOptions:\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option_def_t *o = &options[i];
        char env[96] = "";
        if (o->env && o->env_alt) snprintf(env, sizeof env, "%s, %s", o->env, o->env_alt);
        else if (o->env) snprintf(env, sizeof env, "%s", o->env);
        fprintf(out, "  %-18s %-22s %s\n", o->flag, env, o->help);
    }
    fprintf(out, "  %-18s %-22s %s\n", "--help", "", "show this help");
}
