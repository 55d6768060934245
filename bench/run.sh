#!/usr/bin/env bash
# The whole benchmark of issue 8, one command: `make bench` (or bench/run.sh BUILD_DIR).
# Microbenchmarks, the request-rate run on both backends (bench/load.py), and the large-transfer
# and listing figures of the files, S3 and PostgreSQL issues. Every figure lands in
# bench/results/<time>/ as JSON; bench/summary.py prints them as one table.
set -uo pipefail
build="${1:-build}"
cd "$(dirname "$0")/.."
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
status=0
step() { echo "== $*" >&2; }

step "microbenchmarks"
"$build/bench/coffer_microbench" --benchmark_min_time=0.5 \
  --benchmark_out="$out/micro.json" --benchmark_out_format=json || status=1

step "request rates (wrk, 64 connections)"
/usr/bin/python3 bench/load.py --build "$build" --json "$out/load.json" || status=1

for script in fs_memory s3_throughput direct_vs_proxied list_1m; do
  [ -f "bench/$script.py" ] || continue
  step "$script"
  /usr/bin/python3 "bench/$script.py" --build "$build" --json "$out/$script.json" || status=1
done

/usr/bin/python3 bench/summary.py "$out" || status=1
exit $status
