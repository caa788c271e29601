/* config.h -- the server's configuration: defaults, then environment
 * variables, then command-line flags (flags win). Every setting is listed
 * once in the option table of config.c, which also prints --help, so the
 * flags, the variables and the help text cannot drift apart.
 *
 * Settings that /v11/optimize may change at run time (batch_size,
 * cache_size, cache_ttl, rate_limit) are read through the atomics of
 * `runtime_knobs_t`, owned by the api. */
#ifndef COPYD_CORE_CONFIG_H
#define COPYD_CORE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_MAX_KEYS 16

typedef struct config {
    char host[64];
    int port;
    char *api_keys[CONFIG_MAX_KEYS]; /* malloc'd, never logged */
    size_t n_api_keys;
    char redis_url[256];             /* "" = memory cache only */
    char data_dir[512];              /* SQLite store */
    char template_data[512];         /* phrase banks, grammars, platform limits */
    char engine[32];                 /* default engine */
    char fallback[128];              /* comma-separated fallback order */
    char model[512];                 /* GGUF file of the llm engine, "" = none */
    char llm_languages[128];         /* languages the model writes */
    int llm_max_tokens;              /* tokens per variant */
    char chat_template[32];          /* force a chat template, "" = from the file */
    int max_workers;                 /* HTTP thread pool */
    int job_workers;                 /* legacy batch job threads */
    int batch_size;                  /* items per engine call */
    int max_batch_size;              /* items per batch request */
    long cache_size;                 /* memory-level entries */
    long cache_ttl;                  /* seconds */
    long max_body;                   /* bytes */
    int rate_limit;                  /* legacy requests per minute per key and route */
    int conn_timeout;                /* idle connection timeout, seconds */
    int max_connections;
    char log_level[16];
} config_t;

void config_defaults(config_t *c);
/* Reads the environment variables. Returns 0, or -1 with a message naming
 * the variable and the accepted range. */
int config_from_env(config_t *c, char *err, size_t errsz);
/* Parses `copyd serve` flags from argv[first..]. Returns 0, 1 when --help
 * was printed, -1 with a message on a bad flag. */
int config_from_args(config_t *c, int argc, char **argv, int first, char *err, size_t errsz);
void config_print_help(FILE *out);
void config_free(config_t *c);
/* Sets the key list from "k1,k2" (white space around keys ignored). */
int config_set_keys(config_t *c, const char *list, char *err, size_t errsz);

#endif
