/* bench.h -- `copyd bench`: how fast the local LLM engine runs here, and how
 * close that is to what the memory system allows.
 *
 *   copyd bench --model FILE -t T -p P -n N -b B [-r R]
 *
 * loads FILE (gguf_open: the whole file in anonymous memory), sets T
 * threads, and R times (median reported):
 *   - prefill: P prompt tokens into each of B sequences (llm_eval, which
 *     batches a prompt internally); pp_tok_s = B * P / time;
 *   - decode: N greedy steps of all B sequences together (llm_eval_batch:
 *     one pass over the weights per step for all B); tg_tok_s = B * N / time
 *     (the aggregate over the sequences).
 * Prompt tokens are deterministic ids (no tokenizer involved), different
 * for each sequence.
 *
 * In the same run it measures the machine's memory bandwidth (a streaming
 * read of a buffer larger than the last-level cache, 1 GiB by default, by T
 * threads, best of a few passes) and reports the decode ceiling: one decode
 * step must read every weight once, so steps/s <= bandwidth / bytes of
 * weights read per step, and ceiling_tg_tok_s = B * bandwidth / weight
 * bytes (KV-cache reads, a few MB at these lengths, are left out). Finally
 * it prints the resident memory (VmRSS) next to the file size and the KV
 * caches' size, so "RSS <= file + KV + 64 MiB" can be judged.
 *
 * Output (stdout): a description line starting with '#', then one line of
 * key=value pairs: pp_tok_s= tg_tok_s= bw_GB_s= weights_MiB=
 * ceiling_tg_tok_s= ceiling_share= rss_MiB= file_MiB= kv_MiB= rss_limit_MiB=
 * rss_ok=yes|no. A benchmark, not a test: nothing in ctest calls it. */
#ifndef COPYD_LLM_BENCH_H
#define COPYD_LLM_BENCH_H

#include <stddef.h>

/* Streaming read bandwidth in GB/s (1e9 bytes/s) over an anonymous buffer
 * of `bytes` (touched first, unmapped after), read by `threads` threads,
 * best of `passes`. -1 when the buffer cannot be mapped or a thread cannot
 * start. */
double llm_bench_bandwidth(size_t bytes, int threads, int passes);

/* This process's VmRSS in KiB (from /proc/self/status), -1 if unknown. */
long llm_bench_rss_kib(void);

/* The command; argv as for main (argv[1] = "bench"). Exit status: 0 ok,
 * 1 failure, 2 bad usage. */
int llm_cmd_bench(int argc, char **argv);

#endif
