#!/usr/bin/env bash
# Runs the load benchmarks (bench/README.md) against the given build directory: `make bench`.
set -uo pipefail
build="${1:-build}"
cd "$(dirname "$0")/.."
status=0
/usr/bin/python3 bench/fs_memory.py --build "$build" || status=1
/usr/bin/python3 bench/s3_throughput.py --build "$build" || status=1
exit $status
