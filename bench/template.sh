#!/usr/bin/env bash
# bench/template.sh -- speed of the template engine on one core (a benchmark,
# not a test). Builds bench/template_bench.c (RelWithDebInfo, in
# $BENCH_BUILD_DIR, default build-bench) and runs it over
# tests/quality/corpus.json and /work/shared/briefs/sample.json, 5 variants
# per brief, pinned to one core. Prints briefs/s and, from the same run, the
# cost of parsing the briefs and of a memcpy of the output, as ratios.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build-bench}
ARGS=()

usage() {
    cat <<USAGE
Usage: bench/template.sh [--seconds S] [--variants N] [--cpu K] [--corpus FILE]...

Builds template_bench in \$BENCH_BUILD_DIR (default: build-bench) and measures the
template engine in process on one core: briefs/s with N variants each (default 5)
over tests/quality/corpus.json and /work/shared/briefs/sample.json (or the given
files), with the cost of brief parsing and of a memcpy of the output as baselines.
Goal: >= 10,000 briefs/s.
USAGE
}

while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --seconds|--variants|--cpu|--corpus|--data)
            [ $# -ge 2 ] || { usage >&2; exit 2; }
            ARGS+=("$1" "$2"); shift 2 ;;
        *) usage >&2; exit 2 ;;
    esac
done

cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j2 --target template_bench >/dev/null
COPYD_SOURCE_DIR="$ROOT" exec "$BUILD_DIR/template_bench" "${ARGS[@]+"${ARGS[@]}"}"
