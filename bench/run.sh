#!/usr/bin/env bash
# bench/run.sh -- copyd's server benchmarks (not tests: they time things).
#
#   1. cache-hit POST /copywriting/v11/generate with wrk, against nginx
#      serving the same answer bytes as a static file (GET), same machine,
#      same run: requests/s of both and the ratio (goal >= 0.8);
#   2. cache-miss end to end (every brief distinct, template engine) with
#      bench/loadgen: briefs/s (goal >= 10,000) and latency p50/p95/p99
#      (goal p99 < 5 ms), errors and the share of cache hits (must be 0);
#   3. cache-hit latency with loadgen (for information).
#
# Every figure is measured in this run and compared with a baseline measured
# in this run, because the machine is shared and noisy. Every process it
# starts is stopped on exit. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=10
CONNECTIONS=16
WRK_CONNECTIONS=32
WRK_THREADS=2
WORKERS=2
SKIP_NGINX=0
SKIP_HIT_LATENCY=0
BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build-bench}
COPYD_BIN=${COPYD_BIN:-}
LOADGEN=${LOADGEN:-}
NGINX=${NGINX:-/usr/sbin/nginx}
API_KEY=bench-key

usage() {
    cat <<EOF
Usage: bench/run.sh [OPTIONS]

Benchmarks copyd on 127.0.0.1 and prints a table of figures, baselines,
ratios and goals. Builds copyd (Release) into \$BENCH_BUILD_DIR
(default: build-bench/ in the repository) unless COPYD_BIN is set.

Options:
  --duration S          seconds of each measured phase (default $DURATION)
  --connections N       loadgen keep-alive connections, cache-miss phase (default $CONNECTIONS)
  --wrk-connections N   wrk connections, cache-hit phase (default $WRK_CONNECTIONS; wrk -t$WRK_THREADS)
  --workers N           copyd --max-workers and nginx worker_processes (default $WORKERS)
  --skip-nginx          no nginx baseline (the cache-hit ratio is then not measured)
  --skip-hit-latency    skip the loadgen cache-hit latency phase
  --help                this text

Environment:
  COPYD_BIN        a copyd binary to use instead of building one
  LOADGEN          a loadgen binary to use instead of building one
  BENCH_BUILD_DIR  build directory (default build-bench/)
  NGINX            nginx binary (default /usr/sbin/nginx)

Needs: cmake and a C compiler (unless COPYD_BIN and LOADGEN are given),
curl, wrk, and nginx (unless --skip-nginx).
EOF
}

die() { echo "run.sh: $*" >&2; exit 2; }

is_uint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

while [ $# -gt 0 ]; do
    case $1 in
        --duration) [ $# -ge 2 ] || die "--duration needs a value"
            is_uint "$2" && [ "$2" -le 600 ] || die "--duration: whole seconds 1..600, not '$2'"
            DURATION=$2; shift 2 ;;
        --connections) [ $# -ge 2 ] || die "--connections needs a value"
            is_uint "$2" && [ "$2" -le 1024 ] || die "--connections: 1..1024, not '$2'"
            CONNECTIONS=$2; shift 2 ;;
        --wrk-connections) [ $# -ge 2 ] || die "--wrk-connections needs a value"
            is_uint "$2" && [ "$2" -ge 2 ] && [ "$2" -le 1024 ] || die "--wrk-connections: 2..1024, not '$2'"
            WRK_CONNECTIONS=$2; shift 2 ;;
        --workers) [ $# -ge 2 ] || die "--workers needs a value"
            is_uint "$2" && [ "$2" -le 64 ] || die "--workers: 1..64, not '$2'"
            WORKERS=$2; shift 2 ;;
        --skip-nginx) SKIP_NGINX=1; shift ;;
        --skip-hit-latency) SKIP_HIT_LATENCY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

command -v curl >/dev/null || die "curl is needed"
command -v wrk >/dev/null || die "wrk is needed (Debian package wrk)"
[ "$SKIP_NGINX" = 1 ] || [ -x "$NGINX" ] || die "nginx not found at $NGINX (set NGINX=..., or --skip-nginx)"

# ---- processes and clean-up ---------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/copyd-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # Bounded wait, then no mercy.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build ------------------------------------------------------------------
if [ -z "$COPYD_BIN" ] || [ -z "$LOADGEN" ]; then
    command -v cmake >/dev/null || die "cmake is needed to build (or set COPYD_BIN and LOADGEN)"
    targets=()
    [ -n "$COPYD_BIN" ] || targets+=(copyd)
    [ -n "$LOADGEN" ] || targets+=(loadgen)
    echo "== building ${targets[*]} (Release) in $BUILD_DIR" >&2
    if ! { cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release &&
           cmake --build "$BUILD_DIR" -j2 --target "${targets[@]}"; } >"$WORK/build.log" 2>&1; then
        tail -n 30 "$WORK/build.log" >&2
        die "build failed (last lines above; rerun: cmake --build $BUILD_DIR)"
    fi
    [ -n "$COPYD_BIN" ] || COPYD_BIN=$BUILD_DIR/copyd
    [ -n "$LOADGEN" ] || LOADGEN=$BUILD_DIR/loadgen
fi
[ -x "$COPYD_BIN" ] || die "no copyd binary at $COPYD_BIN"
[ -x "$LOADGEN" ] || die "no loadgen binary at $LOADGEN"

# A port nothing listens on now, chosen below the kernel's ephemeral range
# so no outgoing connection can hold it (a race with other programs is still
# possible: servers are started again on another port when bind fails).
read -r EPH_LO _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || EPH_LO=32768
[ "$EPH_LO" -gt 12000 ] 2>/dev/null || EPH_LO=32768
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((10000 + RANDOM % (EPH_LO - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# wait_http URL SECONDS PID: until URL answers 200, the process dies, or time runs out.
wait_http() {
    local url=$1 secs=$2 pid=$3 code
    for _ in $(seq $((secs * 10))); do
        kill -0 "$pid" 2>/dev/null || return 1
        code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true)
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- copyd ------------------------------------------------------------------
BRIEF='{"product_description":"Zapatos deportivos","target_platform":"instagram","tone":"casual","key_points":["Comodidad"],"language":"es"}'
mkdir -p "$WORK/data"
COPYD_PID=""
for attempt in 1 2 3 4 5; do
    CPORT=$(free_port)
    "$COPYD_BIN" serve --host 127.0.0.1 --port "$CPORT" --data-dir "$WORK/data" --api-key "$API_KEY" \
        --rate-limit 1000000 --max-workers "$WORKERS" --log-level warn 2>"$WORK/copyd.log" &
    COPYD_PID=$!
    PIDS+=("$COPYD_PID")
    BASE=http://127.0.0.1:$CPORT/copywriting
    wait_http "$BASE/v11/health" 20 "$COPYD_PID" && break
    if kill -0 "$COPYD_PID" 2>/dev/null || [ "$attempt" = 5 ]; then
        tail -n 20 "$WORK/copyd.log" >&2 || true
        die "copyd did not become ready on port $CPORT"
    fi
    echo "run.sh: copyd exited at start (port $CPORT taken?); trying another port" >&2
done

post_brief() {
    curl -s -m 10 -X POST -H "X-API-Key: $API_KEY" -H 'Content-Type: application/json' \
        --data-binary "$BRIEF" "$BASE/v11/generate"
}
# Generations answered by the engine and by a cache level, from /metrics.
gen_counts() {
    curl -s -m 10 "$BASE/metrics" | awk '
        /^copyd_generations_total\{/ {
            if ($0 ~ /source="engine"/) e += $NF; else if ($0 ~ /source="(memory|redis)"/) h += $NF
        }
        END { printf "%d %d\n", e, h }'
}

post_brief >/dev/null                       # the miss that fills the cache
mkdir -p "$WORK/www" "$WORK/tmp"
post_brief >"$WORK/www/hit.json"
grep -q '"cache_hit":true' "$WORK/www/hit.json" ||
    die "the second identical POST was not a cache hit: $(head -c 300 "$WORK/www/hit.json")"
HIT_BYTES=$(wc -c <"$WORK/www/hit.json")

# ---- wrk helpers ----------------------------------------------------------------
# JSON strings are valid Lua strings once Lua's own escapes are respected: use
# a long bracket so nothing in the brief needs escaping.
cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = [==[$BRIEF]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$API_KEY"
EOF

# run_bounded OUT CMD...: runs CMD with its standard output in OUT, bounded
# in time, in the background and waited for, so that a signal to this script
# runs the clean-up at once (which stops CMD too). Returns CMD's status.
run_bounded() {
    local out=$1 pid rc=0
    shift
    timeout $((DURATION + 30)) "$@" >"$out" &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    return "$rc"
}

# run_wrk NAME URL [lua]: runs wrk into $WORK/NAME.wrk.
run_wrk() {
    local name=$1 url=$2 script=${3:-}
    local args=(--latency -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${DURATION}s" --timeout 2s)
    [ -n "$script" ] && args+=(-s "$script")
    run_bounded "$WORK/$name.wrk" wrk "${args[@]}" "$url" 2>>"$WORK/$name.wrk" || true
    # No throughput figure at all: show what wrk said.
    grep -q '^Requests/sec:' "$WORK/$name.wrk" || sed 's/^/wrk: /' "$WORK/$name.wrk" >&2
}
# wrk_figures NAME: prints "rps total non2xx errors p99_ms" from $WORK/NAME.wrk.
wrk_figures() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
            if (v ~ /m$/) return v * 60000;  if (v ~ /s$/) return v * 1000; return v
        }
        /^Requests\/sec:/ { rps = $2 }
        / requests in / { total = $1 }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
        $1 == "99%" { p99 = ms($2) }
        END { printf "%s %s %d %d %s\n", rps + 0, total + 0, non2xx, err, p99 + 0 }
    ' "$WORK/$1.wrk"
}

# ---- 1. cache hit: copyd (POST) vs nginx (GET of the same bytes) --------------
echo "== cache hit: wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d${DURATION}s POST /copywriting/v11/generate (copyd)" >&2
read -r E0 H0 < <(gen_counts)
run_wrk copyd "$BASE/v11/generate" "$WORK/post.lua"
read -r C_RPS C_TOTAL C_NON2XX C_ERR C_P99 < <(wrk_figures copyd)
read -r E1 H1 < <(gen_counts)
C_SERVED_HITS=$((H1 - H0))
C_ENGINE_DURING=$((E1 - E0))

N_RPS="" N_P99="" N_NON2XX=0 N_ERR=0
if [ "$SKIP_NGINX" = 0 ]; then
    mkdir -p "$WORK/nginx/tmp" "$WORK/nginx/www"
    cp "$WORK/www/hit.json" "$WORK/nginx/www/hit.json"
    for attempt in 1 2 3 4 5; do
        NPORT=$(free_port)
        sed -e "s|@WORK@|$WORK/nginx|g" -e "s|@PORT@|$NPORT|g" -e "s|@WORKERS@|$WORKERS|g" \
            -e "s|@USER@|$(id -un) $(id -gn)|g" \
            "$ROOT/bench/nginx.conf.in" >"$WORK/nginx/nginx.conf"
        "$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" \
            >"$WORK/nginx/stdout.log" 2>&1 &
        NGINX_PID=$!
        PIDS+=("$NGINX_PID")
        wait_http "http://127.0.0.1:$NPORT/hit.json" 10 "$NGINX_PID" && break
        if kill -0 "$NGINX_PID" 2>/dev/null || [ "$attempt" = 5 ]; then
            cat "$WORK/nginx/stdout.log" "$WORK/nginx/error.log" >&2 2>/dev/null || true
            die "nginx did not become ready on port $NPORT"
        fi
        echo "run.sh: nginx exited at start (port $NPORT taken?); trying another port" >&2
    done
    curl -s -m 5 "http://127.0.0.1:$NPORT/hit.json" | cmp -s - "$WORK/www/hit.json" ||
        die "nginx does not serve the same bytes as copyd's cache-hit answer"
    echo "== cache hit: wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d${DURATION}s GET /hit.json (nginx, same $HIT_BYTES bytes)" >&2
    run_wrk nginx "http://127.0.0.1:$NPORT/hit.json"
    read -r N_RPS _ N_NON2XX N_ERR N_P99 < <(wrk_figures nginx)
    # nginx is not needed any more: stop it so it takes no CPU from what follows.
    kill -TERM "$NGINX_PID" 2>/dev/null || true
fi

# ---- 2. cache miss: loadgen, every brief distinct ------------------------------
# kv FILE KEY: a value from loadgen's key=value output.
kv() { awk -F= -v k="$2" '$1 == k { print $2 }' "$1"; }

echo "== cache miss: loadgen --connections $CONNECTIONS --duration $DURATION --mode miss" >&2
read -r E0 H0 < <(gen_counts)
run_bounded "$WORK/miss.kv" "$LOADGEN" --port "$CPORT" --api-key "$API_KEY" --connections "$CONNECTIONS" \
    --duration "$DURATION" --warmup 1 --mode miss || die "loadgen (miss) failed"
read -r E1 H1 < <(gen_counts)
M_ENGINE=$((E1 - E0))
M_CACHE=$((H1 - H0))

if [ "$SKIP_HIT_LATENCY" = 0 ]; then
    echo "== cache hit latency: loadgen --connections $CONNECTIONS --duration $DURATION --mode hit" >&2
    run_bounded "$WORK/hit.kv" "$LOADGEN" --port "$CPORT" --api-key "$API_KEY" --connections "$CONNECTIONS" \
        --duration "$DURATION" --warmup 1 --mode hit || die "loadgen (hit) failed"
fi

# ---- report ---------------------------------------------------------------------
NPROC=$(nproc)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { if (v == "") print "-"; else printf "%.*f\n", d, v }'; }
# cmp_ge V G / cmp_lt V G / cmp_eq V G -> "met" or "not met"
judge() { awk -v v="$2" -v g="$3" -v op="$1" 'BEGIN {
    if (v == "") { print "n/a"; exit }
    ok = (op == "ge") ? (v + 0 >= g + 0) : (op == "lt") ? (v + 0 < g + 0) : (v + 0 == g + 0)
    print ok ? "met" : "not met" }'; }

RATIO=""
[ -n "$N_RPS" ] && RATIO=$(awk -v a="$C_RPS" -v b="$N_RPS" 'BEGIN { if (b > 0) printf "%.3f", a / b }')

M_RPS=$(kv "$WORK/miss.kv" rps)
M_P50=$(kv "$WORK/miss.kv" p50_ms)
M_P95=$(kv "$WORK/miss.kv" p95_ms)
M_P99=$(kv "$WORK/miss.kv" p99_ms)
M_REQ=$(kv "$WORK/miss.kv" requests)
M_ERR=$(kv "$WORK/miss.kv" errors)
M_HITS=$(kv "$WORK/miss.kv" cache_hits)
M_MISSES=$(kv "$WORK/miss.kv" cache_misses)
M_UNKNOWN=$(kv "$WORK/miss.kv" cache_unknown)
M_SHARE=$(kv "$WORK/miss.kv" hit_share)

row() { printf '%-44s %12s %16s %8s %16s  %s\n' "$@"; }
echo
echo "copyd benchmarks -- $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc: $NPROC${CPU:+ ($CPU)}"
echo "client (wrk, loadgen) and server (copyd --max-workers $WORKERS, nginx worker_processes $WORKERS) share the same $NPROC cores: figures are pessimistic."
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "copyd: $COPYD_BIN (source $ROOT at $REV, plus any uncommitted changes); cache-hit answer: $HIT_BYTES bytes; duration ${DURATION}s per phase"
echo
row metric value baseline ratio goal result
row "--------------------------------------------" "------------" "----------------" "--------" "----------------" "-------"
if [ -n "$N_RPS" ]; then
    row "cache-hit req/s (wrk POST, copyd)" "$(fmt "$C_RPS" 0)" "$(fmt "$N_RPS" 0) nginx" "$RATIO" ">= 0.8 x nginx" \
        "$(judge ge "$RATIO" 0.8)"
else
    row "cache-hit req/s (wrk POST, copyd)" "$(fmt "$C_RPS" 0)" "(skipped)" "-" ">= 0.8 x nginx" "n/a"
fi
row "cache-hit p99 ms (wrk)" "$(fmt "$C_P99" 2)" "$( [ -n "$N_P99" ] && echo "$(fmt "$N_P99" 2) nginx" || echo -)" \
    "-" "-" "info"
row "cache-hit non-2xx + socket errors (wrk)" "$((C_NON2XX + C_ERR))" \
    "$( [ -n "$N_RPS" ] && echo "$((N_NON2XX + N_ERR)) nginx" || echo -)" "-" "0" "$(judge eq $((C_NON2XX + C_ERR)) 0)"
row "cache-hit answers served from cache (server)" "$C_SERVED_HITS" "$C_TOTAL wrk" \
    "$(awk -v a="$C_SERVED_HITS" -v b="$C_TOTAL" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')" \
    "~1 (all hits)" "$( [ "$C_ENGINE_DURING" -eq 0 ] && echo met || echo "not met ($C_ENGINE_DURING engine runs)")"
row "cache-miss briefs/s (loadgen, distinct)" "$(fmt "$M_RPS" 0)" "-" "-" ">= 10000" "$(judge ge "$M_RPS" 10000)"
row "cache-miss p50 ms" "$(fmt "$M_P50" 3)" "-" "-" "-" "info"
row "cache-miss p95 ms" "$(fmt "$M_P95" 3)" "-" "-" "-" "info"
row "cache-miss p99 ms" "$(fmt "$M_P99" 3)" "-" "-" "< 5" "$(judge lt "$M_P99" 5)"
row "cache-miss errors" "$M_ERR" "$M_REQ answers" "-" "0" "$(judge eq "$M_ERR" 0)"
row "cache-miss share of cache hits" "$M_SHARE" "$M_HITS hit/$M_MISSES miss" "-" "0" \
    "$( [ "$M_HITS" = 0 ] && [ "$M_UNKNOWN" = 0 ] && [ "$M_MISSES" -gt 0 ] && echo met || echo "not met")"
row "cache-miss engine runs incl. warm-up (server)" "$M_ENGINE" "$M_REQ measured" "-" ">= answers" \
    "$( [ "$M_ENGINE" -ge "$M_REQ" ] && [ "$M_CACHE" = 0 ] && echo met || echo "not met ($M_CACHE from cache)")"
if [ "$SKIP_HIT_LATENCY" = 0 ]; then
    row "cache-hit req/s (loadgen, $CONNECTIONS conns)" "$(fmt "$(kv "$WORK/hit.kv" rps)" 0)" "-" "-" "-" "info"
    row "cache-hit p50/p99 ms (loadgen)" "$(fmt "$(kv "$WORK/hit.kv" p50_ms)" 3)/$(fmt "$(kv "$WORK/hit.kv" p99_ms)" 3)" \
        "-" "-" "-" "info"
fi
echo
[ "$SKIP_NGINX" = 1 ] || echo "nginx answers GET (it refuses POST on static files with 405); copyd answers the POST with the brief."
if [ -s "$WORK/copyd.log" ]; then
    echo "copyd logged $(wc -l <"$WORK/copyd.log") warning/error line(s); last ones:"
    tail -n 5 "$WORK/copyd.log"
fi
