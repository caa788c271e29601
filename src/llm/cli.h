/* cli.h -- the command line of the local LLM engine. Exact forms (scripts
 * depend on them):
 *
 *   copyd complete --model FILE --prompt TEXT -n N [--temperature T] [--seed S] [--ids]
 *       prints only the continuation (not the prompt); with --ids the
 *       generated token ids, space-separated. Temperature 0 is greedy.
 *   copyd tokenize --model FILE
 *       reads text on stdin, prints its token ids space-separated, with no
 *       BOS/EOS added and special-token text treated as plain text.
 *   copyd model info FILE
 *       architecture, sizes, tensor types, tokenizer, chat template.
 *
 * Each returns the process exit status (0 ok, 1 failure, 2 bad usage). */
#ifndef COPYD_LLM_CLI_H
#define COPYD_LLM_CLI_H

int llm_cmd_complete(int argc, char **argv);
int llm_cmd_tokenize(int argc, char **argv);
int llm_cmd_model(int argc, char **argv);

#endif
