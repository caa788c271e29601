#!/usr/bin/env bash
# Builds copyd and runs every test:
#   1. release build with -Werror (gcc): unit tests, integration tests over
#      real sockets (a real redis-server is started by the tests);
#   2. ASan/UBSan build (clang): the unit tests again, and each libFuzzer
#      target for a bounded time on its seed corpus.
# Usage: scripts/test.sh          (COPYD_FUZZ_SECONDS=N to change fuzz time)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${COPYD_FUZZ_SECONDS:-30}

echo "== release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOPYD_WERROR=ON > /dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== sanitizer build: unit tests and fuzzers (${fuzz_seconds}s each)"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCOPYD_FUZZ=ON \
  -DCOPYD_FUZZ_SECONDS="$fuzz_seconds" > /dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs")
