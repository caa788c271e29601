#!/usr/bin/env bash
# bench/llm.sh -- speed of copyd's local LLM engine against llama.cpp and
# against the machine's memory-bandwidth ceiling (a benchmark, not a test).
#
# For each type (default q8_0 f16 q4_0) it writes a synthetic model of the
# Qwen2-0.5B shape (copyd model synth: random weights, real sizes), runs
#   copyd bench --model M -t 2 -p 128 -n 64 -b 1 -r 5
#   copyd bench --model M -t 2 -p 128 -n 64 -b 4 -r 5
# deletes the model, and prints a table: tokens/s, the llama.cpp figure for
# the same shape, type and thread count, the ratio, the bandwidth ceiling
# measured in the same run, and whether each goal is met. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TYPES="q8_0 f16 q4_0"
THREADS=2
QUICK=0
ROUNDS=1
BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build-bench}
COPYD_BIN=${COPYD_BIN:-}
BENCH_MODELS=${BENCH_MODELS:-}

usage() {
    cat <<EOF
Usage: bench/llm.sh [OPTIONS]

Synthesises Qwen2-0.5B-shaped GGUF models (24 layers, embedding 896, 14 heads,
2 kv heads, ffn 4864, vocabulary 151936, context 4096) and measures prefill and
decode speed with 'copyd bench', one and four sequences at a time, against
llama.cpp's figures for the same shapes and against the memory-bandwidth
ceiling measured in the same run.

Options:
  --types LIST    comma- or space-separated types (default: q8_0,f16,q4_0;
                  also bf16 q4_1 q5_0 q5_1; q4_k/q6_k need a width that is a
                  multiple of 256, which the 0.5B shape is not)
  --threads T     threads (default $THREADS; the llama.cpp figures are for 2)
  --rounds K      run the 1- and 4-sequence measurements K times, alternating,
                  and report the median of each figure (default 1)
  --quick         a small shape and short runs: a smoke test of the script,
                  figures not comparable with llama.cpp (goals show n/a)
  --help          this text

Environment:
  COPYD_BIN       a copyd binary to use instead of building one (Release)
  BENCH_BUILD_DIR build directory (default build-bench/)
  BENCH_MODELS    directory for the model files; files already there are
                  reused and kept (default: a temporary directory, removed)

Each 0.5B model takes 0.3-1 GB of disk while it is measured (one at a time).
EOF
}

die() { echo "llm.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --types) [ $# -ge 2 ] || die "--types needs a value"; TYPES=${2//,/ }; shift 2 ;;
        --threads) [ $# -ge 2 ] || die "--threads needs a value"
            [[ $2 =~ ^[1-9][0-9]*$ ]] && [ "$2" -le 256 ] || die "--threads: 1..256, not '$2'"
            THREADS=$2; shift 2 ;;
        --rounds) [ $# -ge 2 ] || die "--rounds needs a value"
            [[ $2 =~ ^[1-9][0-9]*$ ]] && [ "$2" -le 20 ] || die "--rounds: 1..20, not '$2'"
            ROUNDS=$2; shift 2 ;;
        --quick) QUICK=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "llm.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for t in $TYPES; do
    case $t in
        q8_0|f16|q4_0|bf16|q4_1|q5_0|q5_1|f32|q4_k|q6_k) ;;
        *) die "unknown type '$t' (see --help)" ;;
    esac
done

if [ "$QUICK" = 1 ]; then
    SHAPE=(--arch qwen2 --layers 4 --embd 256 --heads 4 --kv-heads 2 --ff 1024 --vocab 8000 --ctx 512)
    RUN=(-p 32 -n 16 -r 1)
    SHAPE_NAME="quick shape (4 layers, embd 256, vocab 8000)"
else
    SHAPE=(--arch qwen2 --layers 24 --embd 896 --heads 14 --kv-heads 2 --ff 4864 --vocab 151936 --ctx 4096)
    RUN=(-p 128 -n 64 -r 5)
    SHAPE_NAME="Qwen2-0.5B shape (24 layers, embd 896, vocab 151936)"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/copyd-llm-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ -n "$BENCH_MODELS" ]; then
    mkdir -p "$BENCH_MODELS"
    MODELS=$BENCH_MODELS
    KEEP=1
else
    MODELS=$WORK
    KEEP=0
fi

if [ -z "$COPYD_BIN" ]; then
    command -v cmake >/dev/null || die "cmake is needed to build (or set COPYD_BIN)"
    echo "llm.sh: building copyd (Release) in $BUILD_DIR ..." >&2
    if ! { cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release &&
           cmake --build "$BUILD_DIR" -j2 --target copyd; } >"$WORK/build.log" 2>&1; then
        tail -n 20 "$WORK/build.log" >&2
        die "build failed (rerun: cmake --build $BUILD_DIR)"
    fi
    COPYD_BIN=$BUILD_DIR/copyd
fi
[ -x "$COPYD_BIN" ] || die "$COPYD_BIN is not an executable"

# llama.cpp figures, same shape, -t 2, pp128 / tg64 (tokens/s).
declare -A BASE_PP=([q8_0]=231 [f16]=209 [q4_0]=302)
declare -A BASE_TG=([q8_0]=26.0 [f16]=19.2 [q4_0]=30.1)
declare -A BASE_PP4=([q8_0]=227)
declare -A BASE_TG4=([q8_0]=68.1)
# decode goal: this multiple of llama.cpp
declare -A TG_GOAL=([q8_0]=1.1 [f16]=1.1 [q4_0]=1.3)
CEIL_GOAL_TYPE=q8_0
CEIL_GOAL=0.55

# bytes needed for the biggest model (f16 ~1 GB) plus slack
need_mb=$([ "$QUICK" = 1 ] && echo 100 || echo 1400)
avail_mb=$(df -Pm "$MODELS" | awk 'NR == 2 { print $4 }')
[ "${avail_mb:-0}" -ge "$need_mb" ] || die "only ${avail_mb} MB free in $MODELS, need about $need_mb MB"

kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else printf "-" }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a != "-" && a + 0 >= b + 0) }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

ROWS=()
BWS=()
row() { ROWS+=("$(printf '%-24s %9s %9s %7s %9s %6s  %-30s %s' "$@")"); }

for t in $TYPES; do
    model=$MODELS/qwen2-0.5b-synth-$t.gguf
    [ "$QUICK" = 1 ] && model=$MODELS/qwen2-quick-synth-$t.gguf
    if [ "$KEEP" = 1 ] && [ -s "$model" ]; then
        echo "llm.sh: reusing $model" >&2
    else
        echo "llm.sh: synthesising $t ..." >&2
        "$COPYD_BIN" model synth "${SHAPE[@]}" --type "$t" --seed 1 --out "$model" >&2 ||
            die "copyd model synth --type $t failed"
    fi
    declare -A RES=() ALL=()
    # 1 and 4 sequences alternate, so a change in the machine's load hits
    # both sides of the 4-sequence ratio alike
    for ((round = 1; round <= ROUNDS; round++)); do
        for b in 1 4; do
            echo "llm.sh: copyd bench --model $(basename "$model") -t $THREADS ${RUN[*]} -b $b" \
                "(round $round of $ROUNDS)" >&2
            out=$("$COPYD_BIN" bench --model "$model" -t "$THREADS" "${RUN[@]}" -b "$b") ||
                die "copyd bench failed on $model (-b $b)"
            echo "$out" >&2
            line=$(grep 'pp_tok_s=' <<<"$out" | tail -n 1)
            for k in pp_tok_s tg_tok_s ceiling_tg_tok_s ceiling_share rss_MiB rss_limit_MiB bw_GB_s; do
                ALL[$b,$k]+="$(kv "$k" "$line") "
            done
            [ "$(kv rss_ok "$line")" = yes ] || ALL[$b,rss_bad]=1
            BWS+=("$(kv bw_GB_s "$line")")
        done
    done
    # each figure: the median over the rounds (RSS: the largest)
    for b in 1 4; do
        for k in pp_tok_s tg_tok_s ceiling_tg_tok_s ceiling_share bw_GB_s rss_limit_MiB; do
            RES[$b,$k]=$(median ${ALL[$b,$k]})
        done
        RES[$b,rss_MiB]=$(tr ' ' '\n' <<<"${ALL[$b,rss_MiB]}" | grep . | sort -g | tail -n 1)
        RES[$b,rss_ok]=$([ -z "${ALL[$b,rss_bad]:-}" ] && echo yes || echo no)
    done
    [ "$KEEP" = 1 ] || rm -f "$model"

    for b in 1 4; do
        pp=${RES[$b,pp_tok_s]} tg=${RES[$b,tg_tok_s]}
        if [ "$b" = 1 ]; then bpp=${BASE_PP[$t]:-} btg=${BASE_TG[$t]:-}; label="$t"
        else bpp=${BASE_PP4[$t]:-} btg=${BASE_TG4[$t]:-}; label="$t 4 seqs"; fi
        rpp=$(ratio "$pp" "$bpp") rtg=$(ratio "$tg" "$btg")

        # prefill: >= 1.0x llama.cpp
        if [ "$QUICK" = 1 ] || [ -z "$bpp" ]; then res=n/a
        elif ge "$rpp" 1.0; then res=met; else res="NOT MET"; fi
        row "$label prefill" "$pp" "${bpp:--}" "$rpp" - - ">= 1.0x llama.cpp" "$res"

        if [ "$b" = 1 ]; then
            goal=${TG_GOAL[$t]:-}
            if [ "$QUICK" = 1 ] || [ -z "$goal" ] || [ -z "$btg" ]; then res=n/a
            elif ge "$rtg" "$goal"; then res=met; else res="NOT MET"; fi
            row "$t decode" "$tg" "${btg:--}" "$rtg" "${RES[1,ceiling_tg_tok_s]}" "${RES[1,ceiling_share]}" \
                "${goal:+>= ${goal}x llama.cpp}" "$res"
            if [ "$t" = "$CEIL_GOAL_TYPE" ]; then
                if [ "$QUICK" = 1 ]; then res=n/a
                elif ge "${RES[1,ceiling_share]}" "$CEIL_GOAL"; then res=met; else res="NOT MET"; fi
                row "$t decode / ceiling" "${RES[1,ceiling_share]}" - - - - ">= $CEIL_GOAL of the ceiling" "$res"
            fi
        else
            need=$(awk -v a="${RES[1,tg_tok_s]}" 'BEGIN { printf "%.2f", 3 * a }')
            if [ "$QUICK" = 1 ]; then res=n/a
            elif ge "$tg" "$need"; then res=met; else res="NOT MET"; fi
            row "$label decode" "$tg" "${btg:--}" "$rtg" "${RES[4,ceiling_tg_tok_s]}" "${RES[4,ceiling_share]}" \
                ">= 3x single decode ($need)" "$res"
        fi
    done
    for b in 1 4; do
        res=$([ "${RES[$b,rss_ok]}" = yes ] && echo met || echo "NOT MET")
        row "$t b$b RSS (MiB)" "${RES[$b,rss_MiB]}" - - - - "<= file + KV + 64 (${RES[$b,rss_limit_MiB]})" "$res"
    done
    unset RES
done

echo
echo "copyd LLM engine, $SHAPE_NAME, -t $THREADS ${RUN[*]}, $ROUNDS round(s)"
echo "memory bandwidth measured by each run (GB/s, $THREADS threads): ${BWS[*]}"
printf '%-24s %9s %9s %7s %9s %6s  %-30s %s\n' metric value llama.cpp ratio ceiling share goal result
printf '%-24s %9s %9s %7s %9s %6s  %-30s %s\n' ------------------------ --------- --------- ------- --------- ------ \
    ------------------------------ -------
printf '%s\n' "${ROWS[@]}"
echo
echo "value/llama.cpp/ceiling in tokens/s (4 seqs: aggregate); ceiling = sequences x bandwidth / weight bytes"
echo "per step; share = value / ceiling."
