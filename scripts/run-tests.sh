#!/usr/bin/env bash
# Runs every test: unit tests and black-box tests of the release build, then the unit tests of
# the ASan+UBSan build. Starts (and always stops) the servers the tests need.
set -euo pipefail
build="${1:-build}"
asan="${2:-build-asan}"
cd "$(dirname "$0")/.."

status=0
echo "== unit and black-box tests ($build)"
ctest --test-dir "$build" --output-on-failure -j2 --timeout 1200 || status=1
echo "== unit tests under ASan+UBSan ($asan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$asan" --output-on-failure -j2 -L unit --timeout 1200 || status=1
exit $status
